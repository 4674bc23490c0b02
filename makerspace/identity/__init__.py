"""Logging in the Norwegian way: library card and PIN (SIP2) and ID-porten / Feide (OpenID
Connect). People and sessions stay in accounts; this area keeps which outside log-ins lead to
which account (`identities`)."""
