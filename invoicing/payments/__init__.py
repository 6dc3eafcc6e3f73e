"""SEPA credit transfers out, bank returns in.

`transfers` holds the checked values a payment run is made of, `pain001` writes and checks
the pain.001 credit transfer initiation a bank receives, `bank_returns` reads what the bank
answers: pain.002 status reports and camt.053 / camt.054 statements and notifications.
"""
