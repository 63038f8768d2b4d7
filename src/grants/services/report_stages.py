"""The stages of a year's reporting a template is made for: the spending plan, the mid-year
return and the end-of-year return."""

STAGES = ("plan", "mid-year", "end-year")

__all__ = ["STAGES"]
