"""Errors of the test runner, where the AWS testing SDK keeps them."""


class DurableFunctionsTestError(Exception):
    """A test asked for something the execution does not have."""
