"""The directory: public structures (buyers) and their services, and suppliers.

Pure domain code shared by procurement and invoicing: identifier checks, typed records and
the CSV layouts of `chaine directory import`. No database, no network.
"""
