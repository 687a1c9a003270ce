"""Agent with reasoning and dynamic step naming (the seed's Python, as written).

``invoke_ai_model`` and ``execute_tool`` stand in for a model endpoint and a
tool runner: the model asks for the ``search`` tool until it has seen a
tool result, then answers.
"""

from typing import Any

from durable_lambda import DurableContext, durable_execution


def invoke_ai_model(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A scripted model: one tool call, then an answer that uses its result."""
    tool_results = [m["content"] for m in messages if m["role"] == "assistant"]
    if not tool_results:
        return {
            "response": "Let me look that up.",
            "reasoning": "The question needs current data.",
            "tool": {"name": "search", "parameters": {"query": messages[0]["content"]}},
        }
    return {"response": f"Answer based on: {tool_results[-1]}", "reasoning": None, "tool": None}


def execute_tool(tool: dict[str, Any], response: str) -> str:
    """A scripted tool runner."""
    return f"{tool['name']} results for {tool['parameters']['query']!r}"


# fmt: off
# The seed's code, exactly as written.
@durable_execution
def handler(event: dict, context: DurableContext) -> str:
    context.logger.info('Starting AI agent', extra={'prompt': event['prompt']})
    messages = [{'role': 'user', 'content': event['prompt']}]

    while True:
        # Invoke AI model
        result = context.step(
            lambda _: invoke_ai_model(messages),
            name='invoke-model'
        )

        response = result['response']
        reasoning = result.get('reasoning')
        tool = result.get('tool')

        if reasoning:
            context.logger.debug('AI reasoning', extra={'reasoning': reasoning})

        if tool is None:
            context.logger.info('AI agent completed')
            return response

        # Execute tool with dynamic step naming
        tool_result = context.step(
            lambda _: execute_tool(tool, response),
            name=f"execute-tool-{tool['name']}"
        )

        messages.append({'role': 'assistant', 'content': tool_result})
        context.logger.debug('Tool result added', extra={'tool': tool['name']})
# fmt: on
