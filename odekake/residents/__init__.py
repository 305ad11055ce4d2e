"""What residents use outside the van: the pre-fill request page and the published schedule site (HTML, iCal)."""
