import datetime

from flowpilot.api.v1 import annotations_pb2 as _annotations_pb2
from flowpilot.api.v1 import types_pb2 as _types_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Origin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORIGIN_UNSPECIFIED: _ClassVar[Origin]
    ORIGIN_STANDALONE: _ClassVar[Origin]
    ORIGIN_PILOT_INLINE: _ClassVar[Origin]

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_ACTIVE: _ClassVar[SessionStatus]
    SESSION_STATUS_COMPLETED: _ClassVar[SessionStatus]

class EditorMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EDITOR_MODE_UNSPECIFIED: _ClassVar[EditorMode]
    EDITOR_MODE_AI: _ClassVar[EditorMode]
    EDITOR_MODE_EDITOR: _ClassVar[EditorMode]

class MessageRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_ROLE_UNSPECIFIED: _ClassVar[MessageRole]
    MESSAGE_ROLE_USER: _ClassVar[MessageRole]
    MESSAGE_ROLE_ASSISTANT: _ClassVar[MessageRole]

class TemplateStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEMPLATE_STATUS_UNSPECIFIED: _ClassVar[TemplateStatus]
    TEMPLATE_STATUS_DRAFT: _ClassVar[TemplateStatus]
    TEMPLATE_STATUS_PUBLISHED: _ClassVar[TemplateStatus]

class SubmitSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBMIT_SOURCE_UNSPECIFIED: _ClassVar[SubmitSource]
    SUBMIT_SOURCE_AI: _ClassVar[SubmitSource]
    SUBMIT_SOURCE_EDITOR: _ClassVar[SubmitSource]
ORIGIN_UNSPECIFIED: Origin
ORIGIN_STANDALONE: Origin
ORIGIN_PILOT_INLINE: Origin
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_ACTIVE: SessionStatus
SESSION_STATUS_COMPLETED: SessionStatus
EDITOR_MODE_UNSPECIFIED: EditorMode
EDITOR_MODE_AI: EditorMode
EDITOR_MODE_EDITOR: EditorMode
MESSAGE_ROLE_UNSPECIFIED: MessageRole
MESSAGE_ROLE_USER: MessageRole
MESSAGE_ROLE_ASSISTANT: MessageRole
TEMPLATE_STATUS_UNSPECIFIED: TemplateStatus
TEMPLATE_STATUS_DRAFT: TemplateStatus
TEMPLATE_STATUS_PUBLISHED: TemplateStatus
SUBMIT_SOURCE_UNSPECIFIED: SubmitSource
SUBMIT_SOURCE_AI: SubmitSource
SUBMIT_SOURCE_EDITOR: SubmitSource

class Session(_message.Message):
    __slots__ = ("id", "user_id", "account_id", "ai_session_id", "origin", "title", "language", "status", "editor_buffer", "mode", "created_at", "updated_at", "fix_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EDITOR_BUFFER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    account_id: str
    ai_session_id: str
    origin: Origin
    title: str
    language: _types_pb2.ScriptLanguage
    status: SessionStatus
    editor_buffer: str
    mode: EditorMode
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    fix_id: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., account_id: _Optional[str] = ..., ai_session_id: _Optional[str] = ..., origin: _Optional[_Union[Origin, str]] = ..., title: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., editor_buffer: _Optional[str] = ..., mode: _Optional[_Union[EditorMode, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fix_id: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "role", "content", "script", "created_at", "language", "parameters", "explanation", "recipe_id", "fix_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: MessageRole
    content: str
    script: str
    created_at: _timestamp_pb2.Timestamp
    language: _types_pb2.ScriptLanguage
    parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    explanation: str
    recipe_id: str
    fix_id: str
    def __init__(self, id: _Optional[str] = ..., role: _Optional[_Union[MessageRole, str]] = ..., content: _Optional[str] = ..., script: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., explanation: _Optional[str] = ..., recipe_id: _Optional[str] = ..., fix_id: _Optional[str] = ...) -> None: ...

class ScriptTemplate(_message.Message):
    __slots__ = ("id", "account_id", "created_by_user_id", "name", "description", "language", "body", "parameters", "status", "source_fix_id", "source_session_id", "created_at", "updated_at", "source_recipe_id", "current_version", "current_version_deprecated")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIX_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VERSION_DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    account_id: str
    created_by_user_id: str
    name: str
    description: str
    language: _types_pb2.ScriptLanguage
    body: str
    parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    status: TemplateStatus
    source_fix_id: str
    source_session_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    source_recipe_id: str
    current_version: int
    current_version_deprecated: bool
    def __init__(self, id: _Optional[str] = ..., account_id: _Optional[str] = ..., created_by_user_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., body: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., status: _Optional[_Union[TemplateStatus, str]] = ..., source_fix_id: _Optional[str] = ..., source_session_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_recipe_id: _Optional[str] = ..., current_version: _Optional[int] = ..., current_version_deprecated: _Optional[bool] = ...) -> None: ...

class ScriptTemplateVersion(_message.Message):
    __slots__ = ("template_id", "version", "language", "body", "parameters", "author_user_id", "created_at", "change_note", "deprecated", "deprecated_at", "deprecated_by_user_id", "deprecation_reason", "source_recipe_id")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    DEPRECATION_REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    language: _types_pb2.ScriptLanguage
    body: str
    parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    author_user_id: str
    created_at: _timestamp_pb2.Timestamp
    change_note: str
    deprecated: bool
    deprecated_at: _timestamp_pb2.Timestamp
    deprecated_by_user_id: str
    deprecation_reason: str
    source_recipe_id: str
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., body: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., author_user_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., change_note: _Optional[str] = ..., deprecated: _Optional[bool] = ..., deprecated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deprecated_by_user_id: _Optional[str] = ..., deprecation_reason: _Optional[str] = ..., source_recipe_id: _Optional[str] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("origin", "ai_session_id", "language", "title", "fix_id")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    origin: Origin
    ai_session_id: str
    language: _types_pb2.ScriptLanguage
    title: str
    fix_id: str
    def __init__(self, origin: _Optional[_Union[Origin, str]] = ..., ai_session_id: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., title: _Optional[str] = ..., fix_id: _Optional[str] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("include_inline", "page_size", "page_token")
    INCLUDE_INLINE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    include_inline: bool
    page_size: int
    page_token: str
    def __init__(self, include_inline: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("session_id", "content", "fix_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    content: str
    fix_id: str
    def __init__(self, session_id: _Optional[str] = ..., content: _Optional[str] = ..., fix_id: _Optional[str] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("user_message", "assistant_message")
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    user_message: Message
    assistant_message: Message
    def __init__(self, user_message: _Optional[_Union[Message, _Mapping]] = ..., assistant_message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class TextDelta(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class SendMessageEvent(_message.Message):
    __slots__ = ("user_message", "text_delta", "assistant_message")
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    user_message: Message
    text_delta: TextDelta
    assistant_message: Message
    def __init__(self, user_message: _Optional[_Union[Message, _Mapping]] = ..., text_delta: _Optional[_Union[TextDelta, _Mapping]] = ..., assistant_message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDraftRequest(_message.Message):
    __slots__ = ("session_id", "editor_buffer", "mode", "update_mask")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EDITOR_BUFFER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    editor_buffer: str
    mode: EditorMode
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, session_id: _Optional[str] = ..., editor_buffer: _Optional[str] = ..., mode: _Optional[_Union[EditorMode, str]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class SaveSessionAsTemplateRequest(_message.Message):
    __slots__ = ("session_id", "name", "description", "parameters")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ...) -> None: ...

class CreateTemplateRequest(_message.Message):
    __slots__ = ("name", "description", "language", "body", "parameters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    language: _types_pb2.ScriptLanguage
    body: str
    parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., body: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "source_fix_id", "status")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIX_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    source_fix_id: str
    status: TemplateStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., source_fix_id: _Optional[str] = ..., status: _Optional[_Union[TemplateStatus, str]] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[ScriptTemplate]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[ScriptTemplate, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("template_id",)
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    def __init__(self, template_id: _Optional[str] = ...) -> None: ...

class PublishTemplateRequest(_message.Message):
    __slots__ = ("template_id",)
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    def __init__(self, template_id: _Optional[str] = ...) -> None: ...

class RenderTemplateRequest(_message.Message):
    __slots__ = ("template_id", "parameters", "version")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    parameters: _struct_pb2.Struct
    version: int
    def __init__(self, template_id: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class RenderTemplateResponse(_message.Message):
    __slots__ = ("script", "language", "version")
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    script: str
    language: _types_pb2.ScriptLanguage
    version: int
    def __init__(self, script: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., version: _Optional[int] = ...) -> None: ...

class CreateTemplateVersionRequest(_message.Message):
    __slots__ = ("template_id", "language", "body", "parameters", "change_note", "base_version")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    language: _types_pb2.ScriptLanguage
    body: str
    parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    change_note: str
    base_version: int
    def __init__(self, template_id: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., body: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., change_note: _Optional[str] = ..., base_version: _Optional[int] = ...) -> None: ...

class ListTemplateVersionsRequest(_message.Message):
    __slots__ = ("template_id", "page_size", "page_token")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    page_size: int
    page_token: str
    def __init__(self, template_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTemplateVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[ScriptTemplateVersion]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[ScriptTemplateVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTemplateVersionRequest(_message.Message):
    __slots__ = ("template_id", "version")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DiffTemplateVersionsRequest(_message.Message):
    __slots__ = ("template_id", "from_version", "to_version", "context_lines")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LINES_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    from_version: int
    to_version: int
    context_lines: int
    def __init__(self, template_id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., context_lines: _Optional[int] = ...) -> None: ...

class DiffTemplateVersionsResponse(_message.Message):
    __slots__ = ("from_version", "to_version", "diff", "added_lines", "removed_lines", "language_changed", "parameters_changed")
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    ADDED_LINES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_LINES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    to_version: int
    diff: str
    added_lines: int
    removed_lines: int
    language_changed: bool
    parameters_changed: bool
    def __init__(self, from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., diff: _Optional[str] = ..., added_lines: _Optional[int] = ..., removed_lines: _Optional[int] = ..., language_changed: _Optional[bool] = ..., parameters_changed: _Optional[bool] = ...) -> None: ...

class DeprecateTemplateVersionRequest(_message.Message):
    __slots__ = ("template_id", "version", "reason")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    reason: str
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class SubmitDraftRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "source", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    source: SubmitSource
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., source: _Optional[_Union[SubmitSource, str]] = ..., etag: _Optional[str] = ...) -> None: ...

class SubmitDraftResponse(_message.Message):
    __slots__ = ("fix_id", "ai_session_id", "script", "provenance", "etag")
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    fix_id: str
    ai_session_id: str
    script: str
    provenance: _types_pb2.ScriptProvenance
    etag: str
    def __init__(self, fix_id: _Optional[str] = ..., ai_session_id: _Optional[str] = ..., script: _Optional[str] = ..., provenance: _Optional[_Union[_types_pb2.ScriptProvenance, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...
