"""Audit: fraud rules on the event stream, cases, suspensions, 协查, tickets, complaints."""
