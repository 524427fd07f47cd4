# A package so that the revisions ship inside the wheel (script_location is
# `fixes_service:migrations`, resolved as a package resource).
