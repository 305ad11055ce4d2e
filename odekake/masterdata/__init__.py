"""Master data: districts, sites, vans, operators, holidays and disasters, the service catalogue, Japanese era dates."""
