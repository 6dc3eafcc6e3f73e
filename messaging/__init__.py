"""Conversations between the sides of a subject (invoices now, consultations later) and
the emails that copy their notifications (pure)."""
