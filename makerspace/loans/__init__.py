"""Kits lent for whole days: a pool of identical copies, loans, pick-up and return at the desk."""
