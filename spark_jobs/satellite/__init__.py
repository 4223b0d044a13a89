"""Point time series from the LSA SAF MDSSFTD satellite product (15-minute netCDF4 files)."""
