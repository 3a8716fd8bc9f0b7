"""In-app messages are the stored Delivery rows themselves, shown on the status page: nothing to send."""


def send(delivery) -> None:
    return None
