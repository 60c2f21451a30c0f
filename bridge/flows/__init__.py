"""What happens when something arrives: store it, translate it, queue what must go out.

One module per flow family; ``bridge.flows.wiring`` installs the ones the configuration enables.
"""
