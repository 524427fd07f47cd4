from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ScriptLanguage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCRIPT_LANGUAGE_UNSPECIFIED: _ClassVar[ScriptLanguage]
    SCRIPT_LANGUAGE_POWERSHELL: _ClassVar[ScriptLanguage]
    SCRIPT_LANGUAGE_BASH: _ClassVar[ScriptLanguage]
    SCRIPT_LANGUAGE_PYTHON: _ClassVar[ScriptLanguage]
SCRIPT_LANGUAGE_UNSPECIFIED: ScriptLanguage
SCRIPT_LANGUAGE_POWERSHELL: ScriptLanguage
SCRIPT_LANGUAGE_BASH: ScriptLanguage
SCRIPT_LANGUAGE_PYTHON: ScriptLanguage
