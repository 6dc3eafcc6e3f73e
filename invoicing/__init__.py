"""Invoices: formats, validation, statuses, deadlines and interest. Pure domain code."""
