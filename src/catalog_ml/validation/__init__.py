

import logging as _logging

# Great Expectations logs hundreds of INFO lines while it is imported; keep its warnings only.
_logging.getLogger("great_expectations").setLevel(_logging.WARNING)
