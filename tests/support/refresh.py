"""Moving spent refresh tokens out of their reuse grace, as if the use was long ago."""

from __future__ import annotations

# Any tenant database: every spent token's first use moves a day back, past any grace we allow.
AGE_SPENT = "UPDATE refresh_tokens SET used_at = used_at - interval '1 day' WHERE used_at IS NOT NULL"
