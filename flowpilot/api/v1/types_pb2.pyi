from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScriptLanguage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCRIPT_LANGUAGE_UNSPECIFIED: _ClassVar[ScriptLanguage]
    SCRIPT_LANGUAGE_POWERSHELL: _ClassVar[ScriptLanguage]
    SCRIPT_LANGUAGE_BASH: _ClassVar[ScriptLanguage]
    SCRIPT_LANGUAGE_PYTHON: _ClassVar[ScriptLanguage]

class ParameterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARAMETER_TYPE_UNSPECIFIED: _ClassVar[ParameterType]
    PARAMETER_TYPE_STRING: _ClassVar[ParameterType]
    PARAMETER_TYPE_INTEGER: _ClassVar[ParameterType]
    PARAMETER_TYPE_BOOLEAN: _ClassVar[ParameterType]
    PARAMETER_TYPE_ENUM: _ClassVar[ParameterType]

class ScriptOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCRIPT_ORIGIN_UNSPECIFIED: _ClassVar[ScriptOrigin]
    SCRIPT_ORIGIN_AI_DRAFT: _ClassVar[ScriptOrigin]
    SCRIPT_ORIGIN_AI_DRAFT_EDITED: _ClassVar[ScriptOrigin]
    SCRIPT_ORIGIN_TEMPLATE: _ClassVar[ScriptOrigin]
    SCRIPT_ORIGIN_HAND_WRITTEN: _ClassVar[ScriptOrigin]
SCRIPT_LANGUAGE_UNSPECIFIED: ScriptLanguage
SCRIPT_LANGUAGE_POWERSHELL: ScriptLanguage
SCRIPT_LANGUAGE_BASH: ScriptLanguage
SCRIPT_LANGUAGE_PYTHON: ScriptLanguage
PARAMETER_TYPE_UNSPECIFIED: ParameterType
PARAMETER_TYPE_STRING: ParameterType
PARAMETER_TYPE_INTEGER: ParameterType
PARAMETER_TYPE_BOOLEAN: ParameterType
PARAMETER_TYPE_ENUM: ParameterType
SCRIPT_ORIGIN_UNSPECIFIED: ScriptOrigin
SCRIPT_ORIGIN_AI_DRAFT: ScriptOrigin
SCRIPT_ORIGIN_AI_DRAFT_EDITED: ScriptOrigin
SCRIPT_ORIGIN_TEMPLATE: ScriptOrigin
SCRIPT_ORIGIN_HAND_WRITTEN: ScriptOrigin

class ScriptParameter(_message.Message):
    __slots__ = ("name", "type", "required", "default", "choices", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: ParameterType
    required: bool
    default: _struct_pb2.Value
    choices: _containers.RepeatedScalarFieldContainer[str]
    description: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[ParameterType, str]] = ..., required: _Optional[bool] = ..., default: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., choices: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ...) -> None: ...

class EditSize(_message.Message):
    __slots__ = ("ai_chars", "final_chars", "changed_chars", "changed_lines", "similarity")
    AI_CHARS_FIELD_NUMBER: _ClassVar[int]
    FINAL_CHARS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_CHARS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_LINES_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    ai_chars: int
    final_chars: int
    changed_chars: int
    changed_lines: int
    similarity: float
    def __init__(self, ai_chars: _Optional[int] = ..., final_chars: _Optional[int] = ..., changed_chars: _Optional[int] = ..., changed_lines: _Optional[int] = ..., similarity: _Optional[float] = ...) -> None: ...

class ScriptProvenance(_message.Message):
    __slots__ = ("origin", "edit", "template_id", "template_version", "recipe_id", "script_builder_session_id", "ai_message_id")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    EDIT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_BUILDER_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AI_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    origin: ScriptOrigin
    edit: EditSize
    template_id: str
    template_version: int
    recipe_id: str
    script_builder_session_id: str
    ai_message_id: str
    def __init__(self, origin: _Optional[_Union[ScriptOrigin, str]] = ..., edit: _Optional[_Union[EditSize, _Mapping]] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., recipe_id: _Optional[str] = ..., script_builder_session_id: _Optional[str] = ..., ai_message_id: _Optional[str] = ...) -> None: ...
