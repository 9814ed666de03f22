"""Math-aware web extraction: HTML files and WARCs -> documents with every formula kept as LaTeX."""
