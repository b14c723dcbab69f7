"""Messages to employees (SMS): the outbox written with each action, and its senders."""
