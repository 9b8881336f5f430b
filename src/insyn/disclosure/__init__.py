"""Disclosure control: what may be published of the indicator results."""
