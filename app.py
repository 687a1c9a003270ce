"""The example CDK app.

``cdk synth`` (or ``python app.py``) synthesizes the examples stack. The
engine's parts and the example workflows join it as the construct library
(durable_lambda_cdk) grows; today the stack is the app's skeleton.
"""

import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "DurableLambdaExamples")
app.synth()
