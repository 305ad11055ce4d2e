"""planner: the PuLP model that schedules the vans across districts and days."""
