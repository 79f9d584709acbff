"""Reading blinatumomab doses and quantities from orders and comparing them with the label (policy-rules.md §5)."""
