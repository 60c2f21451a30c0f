"""ocpi-oicp-bridge: an EV-charging roaming gateway between OCPI 2.1.1/2.2.1 and OICP 2.3.

Import floors (see CONTRIBUTING.md): protocol models and ``bridge.errors`` at the bottom,
``mappings`` above them, everything else in ``bridge`` on top. This ``__init__`` imports
nothing so that importing a model never drags in a higher floor.
"""

__version__ = "0.1.0"
