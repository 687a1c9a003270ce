"""Custom serialization (Python twins of the seed's TypeScript patterns).

``create_class_serdes_with_dates`` brings a User back as a User with
datetime fields; ``create_class_serdes`` brings an Order back with its
items and customer as instances too (nested classes come from annotations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from durable_lambda import DurableContext, durable_execution
from durable_lambda.config import StepConfig
from durable_lambda.serdes import create_class_serdes, create_class_serdes_with_dates


class User:
    def __init__(self, name: str, email: str, created_at: datetime, updated_at: datetime) -> None:
        self.name = name
        self.email = email
        self.created_at = created_at
        self.updated_at = updated_at


@dataclass
class OrderItem:
    sku: str
    quantity: int


@dataclass
class Customer:
    id: str
    name: str


@dataclass
class Order:
    id: str
    items: list[OrderItem]
    customer: Customer


@durable_execution
def handler(event: dict, context: DurableContext) -> dict:
    user = context.step(
        lambda _: User("Alice", "alice@example.com", datetime.now(UTC), datetime.now(UTC)),
        name="create-user",
        config=StepConfig(
            serdes=create_class_serdes_with_dates(User, ["created_at", "updated_at"])
        ),
    )
    # result is a User instance with datetime fields
    assert isinstance(user, User) and isinstance(user.created_at, datetime)

    order = context.step(
        lambda _: Order(
            "ORD-456",
            [OrderItem("SKU-001", 2), OrderItem("SKU-002", 1)],
            Customer("CUST-123", "Alice"),
        ),
        name="process-order",
        config=StepConfig(serdes=create_class_serdes(Order)),
    )
    return {
        "user": type(user).__name__,
        "user_created_at_is_datetime": isinstance(user.created_at, datetime),
        "order": type(order).__name__,
        "items": [type(item).__name__ for item in order.items],
        "customer": type(order.customer).__name__,
        "units": sum(item.quantity for item in order.items),
    }
