"""Input shapes shared by every package's API, so bad input is a 422 naming the field rather
than a 500 from deep below (a database that cannot hold the number, an AMI header split by a
line break)."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

# No control characters: the value ends up in an AMI header, a log line or an SMS.
ONE_LINE: Final = r"^[^\x00-\x1f\x7f]*$"
# Primary keys are 32-bit integers on PostgreSQL; a larger id can name no record.
MAX_ID: Final = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
