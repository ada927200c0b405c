"""yuqing-monitor: on-premises public-opinion (舆情) monitoring daemon.

Data flows one way: config -> fetch -> parse -> store -> match -> incidents -> alerts -> report.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
