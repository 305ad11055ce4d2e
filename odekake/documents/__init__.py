"""Document formats shared by receipts, reports and voting: the PDF font, CSV/XLSX writing."""
