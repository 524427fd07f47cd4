import datetime

from flowpilot.api.v1 import annotations_pb2 as _annotations_pb2
from flowpilot.api.v1 import types_pb2 as _types_pb2
from google.api import annotations_pb2 as _annotations_pb2_1
from google.api import field_behavior_pb2 as _field_behavior_pb2
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

class AiSessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AI_SESSION_STATUS_UNSPECIFIED: _ClassVar[AiSessionStatus]
    AI_SESSION_STATUS_ACTIVE: _ClassVar[AiSessionStatus]
    AI_SESSION_STATUS_RESOLVED: _ClassVar[AiSessionStatus]
    AI_SESSION_STATUS_ESCALATED: _ClassVar[AiSessionStatus]

class FixStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_STATUS_UNSPECIFIED: _ClassVar[FixStatus]
    FIX_STATUS_PROPOSED: _ClassVar[FixStatus]
    FIX_STATUS_APPLIED_SUCCESS: _ClassVar[FixStatus]
    FIX_STATUS_APPLIED_FAILED: _ClassVar[FixStatus]
    FIX_STATUS_APPLIED_PARTIAL: _ClassVar[FixStatus]
    FIX_STATUS_DISMISSED: _ClassVar[FixStatus]

class FixOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_OUTCOME_UNSPECIFIED: _ClassVar[FixOutcome]
    FIX_OUTCOME_APPLIED_SUCCESS: _ClassVar[FixOutcome]
    FIX_OUTCOME_APPLIED_FAILED: _ClassVar[FixOutcome]
    FIX_OUTCOME_APPLIED_PARTIAL: _ClassVar[FixOutcome]

class ScriptDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCRIPT_DECISION_UNSPECIFIED: _ClassVar[ScriptDecision]
    SCRIPT_DECISION_ONE_OFF: _ClassVar[ScriptDecision]
    SCRIPT_DECISION_DRAFT_TEMPLATE: _ClassVar[ScriptDecision]
    SCRIPT_DECISION_BUILD_TEMPLATE: _ClassVar[ScriptDecision]

class EscalationChoice(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_CHOICE_UNSPECIFIED: _ClassVar[EscalationChoice]
    ESCALATION_CHOICE_APPLIED_FAILED: _ClassVar[EscalationChoice]
    ESCALATION_CHOICE_APPLIED_SUCCESS: _ClassVar[EscalationChoice]
    ESCALATION_CHOICE_NEVER_APPLIED: _ClassVar[EscalationChoice]
    ESCALATION_CHOICE_APPLIED_PARTIAL: _ClassVar[EscalationChoice]

class BannerMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BANNER_MODE_UNSPECIFIED: _ClassVar[BannerMode]
    BANNER_MODE_PROPOSED: _ClassVar[BannerMode]
    BANNER_MODE_VERIFYING: _ClassVar[BannerMode]
    BANNER_MODE_PARTIAL: _ClassVar[BannerMode]
    BANNER_MODE_SUCCESS: _ClassVar[BannerMode]
    BANNER_MODE_FAILED: _ClassVar[BannerMode]
    BANNER_MODE_DISMISSED: _ClassVar[BannerMode]
    BANNER_MODE_FROZEN: _ClassVar[BannerMode]

class ApplyRoute(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPLY_ROUTE_UNSPECIFIED: _ClassVar[ApplyRoute]
    APPLY_ROUTE_TEMPLATE_MATCH_PANEL: _ClassVar[ApplyRoute]
    APPLY_ROUTE_NO_TEMPLATE_DIALOG: _ClassVar[ApplyRoute]
    APPLY_ROUTE_SCRIPT_BUILDER_TAB: _ClassVar[ApplyRoute]
    APPLY_ROUTE_NONE: _ClassVar[ApplyRoute]

class FixEventAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_EVENT_ACTION_UNSPECIFIED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_CREATED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_SCRIPT_UPDATED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_APPLIED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_SCRIPT_DECISION_RECORDED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_OUTCOME_RECORDED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_DISMISSED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_OUTCOME_PROPOSED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_OUTCOME_PROPOSAL_CLEARED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_RESOLVE_AUTO_SUCCESS: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_ESCALATION_OUTCOME: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_SESSION_RESOLVED: _ClassVar[FixEventAction]
    FIX_EVENT_ACTION_SESSION_ESCALATED: _ClassVar[FixEventAction]

class FixAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_ACTION_UNSPECIFIED: _ClassVar[FixAction]
    FIX_ACTION_UPDATE_SCRIPT: _ClassVar[FixAction]
    FIX_ACTION_APPLY: _ClassVar[FixAction]
    FIX_ACTION_DECIDE_ONE_OFF: _ClassVar[FixAction]
    FIX_ACTION_DECIDE_DRAFT_TEMPLATE: _ClassVar[FixAction]
    FIX_ACTION_DECIDE_BUILD_TEMPLATE: _ClassVar[FixAction]
    FIX_ACTION_RECORD_SUCCESS: _ClassVar[FixAction]
    FIX_ACTION_RECORD_FAILED: _ClassVar[FixAction]
    FIX_ACTION_RECORD_PARTIAL: _ClassVar[FixAction]
    FIX_ACTION_DISMISS: _ClassVar[FixAction]
    FIX_ACTION_PROPOSE_OUTCOME: _ClassVar[FixAction]
    FIX_ACTION_CLEAR_OUTCOME_PROPOSAL: _ClassVar[FixAction]

class AiSessionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AI_SESSION_ACTION_UNSPECIFIED: _ClassVar[AiSessionAction]
    AI_SESSION_ACTION_RESOLVE: _ClassVar[AiSessionAction]
    AI_SESSION_ACTION_ESCALATE: _ClassVar[AiSessionAction]
    AI_SESSION_ACTION_PROPOSE_FIX: _ClassVar[AiSessionAction]

class FixRunKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_RUN_KIND_UNSPECIFIED: _ClassVar[FixRunKind]
    FIX_RUN_KIND_APPLY: _ClassVar[FixRunKind]
    FIX_RUN_KIND_ONE_OFF: _ClassVar[FixRunKind]
    FIX_RUN_KIND_DRAFT_TEMPLATE: _ClassVar[FixRunKind]

class FixRunSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_RUN_SOURCE_UNSPECIFIED: _ClassVar[FixRunSource]
    FIX_RUN_SOURCE_DRAFTED_SCRIPT: _ClassVar[FixRunSource]
    FIX_RUN_SOURCE_TEMPLATE: _ClassVar[FixRunSource]

class AiSessionChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AI_SESSION_CHANGE_KIND_UNSPECIFIED: _ClassVar[AiSessionChangeKind]
    AI_SESSION_CHANGE_KIND_SNAPSHOT: _ClassVar[AiSessionChangeKind]
    AI_SESSION_CHANGE_KIND_FIX_CREATED: _ClassVar[AiSessionChangeKind]
    AI_SESSION_CHANGE_KIND_FIX_UPDATED: _ClassVar[AiSessionChangeKind]
    AI_SESSION_CHANGE_KIND_SESSION_UPDATED: _ClassVar[AiSessionChangeKind]

class OutcomeDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_DIMENSION_UNSPECIFIED: _ClassVar[OutcomeDimension]
    OUTCOME_DIMENSION_TEMPLATE_VERSION: _ClassVar[OutcomeDimension]
    OUTCOME_DIMENSION_TEMPLATE: _ClassVar[OutcomeDimension]
    OUTCOME_DIMENSION_ORIGIN: _ClassVar[OutcomeDimension]
    OUTCOME_DIMENSION_LANGUAGE: _ClassVar[OutcomeDimension]
    OUTCOME_DIMENSION_TITLE_CLUSTER: _ClassVar[OutcomeDimension]
    OUTCOME_DIMENSION_RECIPE: _ClassVar[OutcomeDimension]
AI_SESSION_STATUS_UNSPECIFIED: AiSessionStatus
AI_SESSION_STATUS_ACTIVE: AiSessionStatus
AI_SESSION_STATUS_RESOLVED: AiSessionStatus
AI_SESSION_STATUS_ESCALATED: AiSessionStatus
FIX_STATUS_UNSPECIFIED: FixStatus
FIX_STATUS_PROPOSED: FixStatus
FIX_STATUS_APPLIED_SUCCESS: FixStatus
FIX_STATUS_APPLIED_FAILED: FixStatus
FIX_STATUS_APPLIED_PARTIAL: FixStatus
FIX_STATUS_DISMISSED: FixStatus
FIX_OUTCOME_UNSPECIFIED: FixOutcome
FIX_OUTCOME_APPLIED_SUCCESS: FixOutcome
FIX_OUTCOME_APPLIED_FAILED: FixOutcome
FIX_OUTCOME_APPLIED_PARTIAL: FixOutcome
SCRIPT_DECISION_UNSPECIFIED: ScriptDecision
SCRIPT_DECISION_ONE_OFF: ScriptDecision
SCRIPT_DECISION_DRAFT_TEMPLATE: ScriptDecision
SCRIPT_DECISION_BUILD_TEMPLATE: ScriptDecision
ESCALATION_CHOICE_UNSPECIFIED: EscalationChoice
ESCALATION_CHOICE_APPLIED_FAILED: EscalationChoice
ESCALATION_CHOICE_APPLIED_SUCCESS: EscalationChoice
ESCALATION_CHOICE_NEVER_APPLIED: EscalationChoice
ESCALATION_CHOICE_APPLIED_PARTIAL: EscalationChoice
BANNER_MODE_UNSPECIFIED: BannerMode
BANNER_MODE_PROPOSED: BannerMode
BANNER_MODE_VERIFYING: BannerMode
BANNER_MODE_PARTIAL: BannerMode
BANNER_MODE_SUCCESS: BannerMode
BANNER_MODE_FAILED: BannerMode
BANNER_MODE_DISMISSED: BannerMode
BANNER_MODE_FROZEN: BannerMode
APPLY_ROUTE_UNSPECIFIED: ApplyRoute
APPLY_ROUTE_TEMPLATE_MATCH_PANEL: ApplyRoute
APPLY_ROUTE_NO_TEMPLATE_DIALOG: ApplyRoute
APPLY_ROUTE_SCRIPT_BUILDER_TAB: ApplyRoute
APPLY_ROUTE_NONE: ApplyRoute
FIX_EVENT_ACTION_UNSPECIFIED: FixEventAction
FIX_EVENT_ACTION_CREATED: FixEventAction
FIX_EVENT_ACTION_SCRIPT_UPDATED: FixEventAction
FIX_EVENT_ACTION_APPLIED: FixEventAction
FIX_EVENT_ACTION_SCRIPT_DECISION_RECORDED: FixEventAction
FIX_EVENT_ACTION_OUTCOME_RECORDED: FixEventAction
FIX_EVENT_ACTION_DISMISSED: FixEventAction
FIX_EVENT_ACTION_OUTCOME_PROPOSED: FixEventAction
FIX_EVENT_ACTION_OUTCOME_PROPOSAL_CLEARED: FixEventAction
FIX_EVENT_ACTION_RESOLVE_AUTO_SUCCESS: FixEventAction
FIX_EVENT_ACTION_ESCALATION_OUTCOME: FixEventAction
FIX_EVENT_ACTION_SESSION_RESOLVED: FixEventAction
FIX_EVENT_ACTION_SESSION_ESCALATED: FixEventAction
FIX_ACTION_UNSPECIFIED: FixAction
FIX_ACTION_UPDATE_SCRIPT: FixAction
FIX_ACTION_APPLY: FixAction
FIX_ACTION_DECIDE_ONE_OFF: FixAction
FIX_ACTION_DECIDE_DRAFT_TEMPLATE: FixAction
FIX_ACTION_DECIDE_BUILD_TEMPLATE: FixAction
FIX_ACTION_RECORD_SUCCESS: FixAction
FIX_ACTION_RECORD_FAILED: FixAction
FIX_ACTION_RECORD_PARTIAL: FixAction
FIX_ACTION_DISMISS: FixAction
FIX_ACTION_PROPOSE_OUTCOME: FixAction
FIX_ACTION_CLEAR_OUTCOME_PROPOSAL: FixAction
AI_SESSION_ACTION_UNSPECIFIED: AiSessionAction
AI_SESSION_ACTION_RESOLVE: AiSessionAction
AI_SESSION_ACTION_ESCALATE: AiSessionAction
AI_SESSION_ACTION_PROPOSE_FIX: AiSessionAction
FIX_RUN_KIND_UNSPECIFIED: FixRunKind
FIX_RUN_KIND_APPLY: FixRunKind
FIX_RUN_KIND_ONE_OFF: FixRunKind
FIX_RUN_KIND_DRAFT_TEMPLATE: FixRunKind
FIX_RUN_SOURCE_UNSPECIFIED: FixRunSource
FIX_RUN_SOURCE_DRAFTED_SCRIPT: FixRunSource
FIX_RUN_SOURCE_TEMPLATE: FixRunSource
AI_SESSION_CHANGE_KIND_UNSPECIFIED: AiSessionChangeKind
AI_SESSION_CHANGE_KIND_SNAPSHOT: AiSessionChangeKind
AI_SESSION_CHANGE_KIND_FIX_CREATED: AiSessionChangeKind
AI_SESSION_CHANGE_KIND_FIX_UPDATED: AiSessionChangeKind
AI_SESSION_CHANGE_KIND_SESSION_UPDATED: AiSessionChangeKind
OUTCOME_DIMENSION_UNSPECIFIED: OutcomeDimension
OUTCOME_DIMENSION_TEMPLATE_VERSION: OutcomeDimension
OUTCOME_DIMENSION_TEMPLATE: OutcomeDimension
OUTCOME_DIMENSION_ORIGIN: OutcomeDimension
OUTCOME_DIMENSION_LANGUAGE: OutcomeDimension
OUTCOME_DIMENSION_TITLE_CLUSTER: OutcomeDimension
OUTCOME_DIMENSION_RECIPE: OutcomeDimension

class AiSession(_message.Message):
    __slots__ = ("id", "owner_user_id", "account_id", "title", "status", "state_version", "created_at", "updated_at", "escalation_reason", "etag", "allowed_actions", "escalation_choices")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_REASON_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_CHOICES_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner_user_id: str
    account_id: str
    title: str
    status: AiSessionStatus
    state_version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    escalation_reason: str
    etag: str
    allowed_actions: _containers.RepeatedScalarFieldContainer[AiSessionAction]
    escalation_choices: _containers.RepeatedCompositeFieldContainer[FixEscalationChoices]
    def __init__(self, id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., account_id: _Optional[str] = ..., title: _Optional[str] = ..., status: _Optional[_Union[AiSessionStatus, str]] = ..., state_version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., escalation_reason: _Optional[str] = ..., etag: _Optional[str] = ..., allowed_actions: _Optional[_Iterable[_Union[AiSessionAction, str]]] = ..., escalation_choices: _Optional[_Iterable[_Union[FixEscalationChoices, _Mapping]]] = ...) -> None: ...

class FixEscalationChoices(_message.Message):
    __slots__ = ("fix_id", "allowed")
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    fix_id: str
    allowed: _containers.RepeatedScalarFieldContainer[EscalationChoice]
    def __init__(self, fix_id: _Optional[str] = ..., allowed: _Optional[_Iterable[_Union[EscalationChoice, str]]] = ...) -> None: ...

class FixNote(_message.Message):
    __slots__ = ("outcome", "notes", "recorded_by_user_id", "recorded_at")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    outcome: FixOutcome
    notes: str
    recorded_by_user_id: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, outcome: _Optional[_Union[FixOutcome, str]] = ..., notes: _Optional[str] = ..., recorded_by_user_id: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FixRun(_message.Message):
    __slots__ = ("id", "kind", "source", "script_template_id", "language", "script", "parameters", "rendered", "declared_by_user_id", "declared_at", "state_version", "script_template_version", "provenance")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RENDERED_FIELD_NUMBER: _ClassVar[int]
    DECLARED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    DECLARED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: FixRunKind
    source: FixRunSource
    script_template_id: str
    language: _types_pb2.ScriptLanguage
    script: str
    parameters: _struct_pb2.Struct
    rendered: bool
    declared_by_user_id: str
    declared_at: _timestamp_pb2.Timestamp
    state_version: int
    script_template_version: int
    provenance: _types_pb2.ScriptProvenance
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[FixRunKind, str]] = ..., source: _Optional[_Union[FixRunSource, str]] = ..., script_template_id: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., script: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., rendered: _Optional[bool] = ..., declared_by_user_id: _Optional[str] = ..., declared_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_version: _Optional[int] = ..., script_template_version: _Optional[int] = ..., provenance: _Optional[_Union[_types_pb2.ScriptProvenance, _Mapping]] = ...) -> None: ...

class AiOutcomeProposal(_message.Message):
    __slots__ = ("outcome", "rationale", "proposed_at")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RATIONALE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    outcome: FixOutcome
    rationale: str
    proposed_at: _timestamp_pb2.Timestamp
    def __init__(self, outcome: _Optional[_Union[FixOutcome, str]] = ..., rationale: _Optional[str] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SuggestedFix(_message.Message):
    __slots__ = ("id", "ai_session_id", "title", "description", "script_language", "ai_drafted_script", "ai_drafted_parameters", "script_template_id", "status", "applied_at", "outcome_notes", "ai_outcome_proposal", "script_decision", "created_at", "updated_at", "banner_mode", "apply_route", "needs_script", "etag", "state_version", "allowed_actions", "script_parameters", "last_run", "notes_history", "script_template_version", "provenance")
    ID_FIELD_NUMBER: _ClassVar[int]
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    AI_DRAFTED_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    AI_DRAFTED_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_NOTES_FIELD_NUMBER: _ClassVar[int]
    AI_OUTCOME_PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_DECISION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    BANNER_MODE_FIELD_NUMBER: _ClassVar[int]
    APPLY_ROUTE_FIELD_NUMBER: _ClassVar[int]
    NEEDS_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    STATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_FIELD_NUMBER: _ClassVar[int]
    NOTES_HISTORY_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    ai_session_id: str
    title: str
    description: str
    script_language: _types_pb2.ScriptLanguage
    ai_drafted_script: str
    ai_drafted_parameters: _struct_pb2.Struct
    script_template_id: str
    status: FixStatus
    applied_at: _timestamp_pb2.Timestamp
    outcome_notes: str
    ai_outcome_proposal: AiOutcomeProposal
    script_decision: ScriptDecision
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    banner_mode: BannerMode
    apply_route: ApplyRoute
    needs_script: bool
    etag: str
    state_version: int
    allowed_actions: _containers.RepeatedScalarFieldContainer[FixAction]
    script_parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    last_run: FixRun
    notes_history: _containers.RepeatedCompositeFieldContainer[FixNote]
    script_template_version: int
    provenance: _types_pb2.ScriptProvenance
    def __init__(self, id: _Optional[str] = ..., ai_session_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., script_language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., ai_drafted_script: _Optional[str] = ..., ai_drafted_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., script_template_id: _Optional[str] = ..., status: _Optional[_Union[FixStatus, str]] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome_notes: _Optional[str] = ..., ai_outcome_proposal: _Optional[_Union[AiOutcomeProposal, _Mapping]] = ..., script_decision: _Optional[_Union[ScriptDecision, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., banner_mode: _Optional[_Union[BannerMode, str]] = ..., apply_route: _Optional[_Union[ApplyRoute, str]] = ..., needs_script: _Optional[bool] = ..., etag: _Optional[str] = ..., state_version: _Optional[int] = ..., allowed_actions: _Optional[_Iterable[_Union[FixAction, str]]] = ..., script_parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., last_run: _Optional[_Union[FixRun, _Mapping]] = ..., notes_history: _Optional[_Iterable[_Union[FixNote, _Mapping]]] = ..., script_template_version: _Optional[int] = ..., provenance: _Optional[_Union[_types_pb2.ScriptProvenance, _Mapping]] = ...) -> None: ...

class FixEvent(_message.Message):
    __slots__ = ("id", "fix_id", "ai_session_id", "actor_user_id", "action", "from_status", "to_status", "details", "state_version", "created_at", "run")
    ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    STATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    id: str
    fix_id: str
    ai_session_id: str
    actor_user_id: str
    action: FixEventAction
    from_status: FixStatus
    to_status: FixStatus
    details: _struct_pb2.Struct
    state_version: int
    created_at: _timestamp_pb2.Timestamp
    run: FixRun
    def __init__(self, id: _Optional[str] = ..., fix_id: _Optional[str] = ..., ai_session_id: _Optional[str] = ..., actor_user_id: _Optional[str] = ..., action: _Optional[_Union[FixEventAction, str]] = ..., from_status: _Optional[_Union[FixStatus, str]] = ..., to_status: _Optional[_Union[FixStatus, str]] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., state_version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run: _Optional[_Union[FixRun, _Mapping]] = ...) -> None: ...

class CreateAiSessionRequest(_message.Message):
    __slots__ = ("title",)
    TITLE_FIELD_NUMBER: _ClassVar[int]
    title: str
    def __init__(self, title: _Optional[str] = ...) -> None: ...

class ListAiSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAiSessionsResponse(_message.Message):
    __slots__ = ("ai_sessions", "next_page_token")
    AI_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ai_sessions: _containers.RepeatedCompositeFieldContainer[AiSession]
    next_page_token: str
    def __init__(self, ai_sessions: _Optional[_Iterable[_Union[AiSession, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAiSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ResolveAiSessionRequest(_message.Message):
    __slots__ = ("session_id", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class FixOutcomeChoice(_message.Message):
    __slots__ = ("fix_id", "choice", "notes")
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    CHOICE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    fix_id: str
    choice: EscalationChoice
    notes: str
    def __init__(self, fix_id: _Optional[str] = ..., choice: _Optional[_Union[EscalationChoice, str]] = ..., notes: _Optional[str] = ...) -> None: ...

class EscalateAiSessionRequest(_message.Message):
    __slots__ = ("session_id", "reason", "fix_outcomes", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIX_OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    reason: str
    fix_outcomes: _containers.RepeatedCompositeFieldContainer[FixOutcomeChoice]
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., reason: _Optional[str] = ..., fix_outcomes: _Optional[_Iterable[_Union[FixOutcomeChoice, _Mapping]]] = ..., etag: _Optional[str] = ...) -> None: ...

class CreateSuggestedFixRequest(_message.Message):
    __slots__ = ("session_id", "title", "description", "script_language", "ai_drafted_script", "ai_drafted_parameters", "script_template_id", "etag", "script_parameters", "script_template_version")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    AI_DRAFTED_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    AI_DRAFTED_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    title: str
    description: str
    script_language: _types_pb2.ScriptLanguage
    ai_drafted_script: str
    ai_drafted_parameters: _struct_pb2.Struct
    script_template_id: str
    etag: str
    script_parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    script_template_version: int
    def __init__(self, session_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., script_language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., ai_drafted_script: _Optional[str] = ..., ai_drafted_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., script_template_id: _Optional[str] = ..., etag: _Optional[str] = ..., script_parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., script_template_version: _Optional[int] = ...) -> None: ...

class ListSuggestedFixesRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSuggestedFixesResponse(_message.Message):
    __slots__ = ("suggested_fixes", "next_page_token")
    SUGGESTED_FIXES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    suggested_fixes: _containers.RepeatedCompositeFieldContainer[SuggestedFix]
    next_page_token: str
    def __init__(self, suggested_fixes: _Optional[_Iterable[_Union[SuggestedFix, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSuggestedFixRequest(_message.Message):
    __slots__ = ("session_id", "fix_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ...) -> None: ...

class UpdateFixScriptRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "ai_drafted_script", "ai_drafted_parameters", "etag", "script_parameters", "update_mask", "basis")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    AI_DRAFTED_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    AI_DRAFTED_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    ai_drafted_script: str
    ai_drafted_parameters: _struct_pb2.Struct
    etag: str
    script_parameters: _containers.RepeatedCompositeFieldContainer[_types_pb2.ScriptParameter]
    update_mask: _field_mask_pb2.FieldMask
    basis: DraftBasis
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., ai_drafted_script: _Optional[str] = ..., ai_drafted_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., etag: _Optional[str] = ..., script_parameters: _Optional[_Iterable[_Union[_types_pb2.ScriptParameter, _Mapping]]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., basis: _Optional[_Union[DraftBasis, _Mapping]] = ...) -> None: ...

class DraftBasis(_message.Message):
    __slots__ = ("ai_script", "recipe_id", "script_builder_session_id", "ai_message_id")
    AI_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_BUILDER_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AI_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ai_script: str
    recipe_id: str
    script_builder_session_id: str
    ai_message_id: str
    def __init__(self, ai_script: _Optional[str] = ..., recipe_id: _Optional[str] = ..., script_builder_session_id: _Optional[str] = ..., ai_message_id: _Optional[str] = ...) -> None: ...

class ApplyFixRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "etag", "parameters")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    etag: str
    parameters: _struct_pb2.Struct
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., etag: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RecordScriptDecisionRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "decision", "etag", "parameters")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    decision: ScriptDecision
    etag: str
    parameters: _struct_pb2.Struct
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., decision: _Optional[_Union[ScriptDecision, str]] = ..., etag: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RecordOutcomeRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "outcome", "notes", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    outcome: FixOutcome
    notes: str
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., outcome: _Optional[_Union[FixOutcome, str]] = ..., notes: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DismissFixRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ProposeOutcomeRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "outcome", "rationale", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RATIONALE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    outcome: FixOutcome
    rationale: str
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., outcome: _Optional[_Union[FixOutcome, str]] = ..., rationale: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ClearOutcomeProposalRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "etag")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    etag: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class RenderSuggestedFixRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "parameters")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    parameters: _struct_pb2.Struct
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RenderSuggestedFixResponse(_message.Message):
    __slots__ = ("script", "language")
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    script: str
    language: _types_pb2.ScriptLanguage
    def __init__(self, script: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ...) -> None: ...

class ListFixEventsRequest(_message.Message):
    __slots__ = ("session_id", "fix_id", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fix_id: str
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[str] = ..., fix_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFixEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[FixEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[FixEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAiSessionEventsRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAiSessionEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[FixEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[FixEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchAiSessionRequest(_message.Message):
    __slots__ = ("session_id", "last_event_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    last_event_id: int
    def __init__(self, session_id: _Optional[str] = ..., last_event_id: _Optional[int] = ...) -> None: ...

class AiSessionChange(_message.Message):
    __slots__ = ("event_id", "kind", "session", "fix", "event")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FIX_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    kind: AiSessionChangeKind
    session: AiSession
    fix: SuggestedFix
    event: FixEvent
    def __init__(self, event_id: _Optional[int] = ..., kind: _Optional[_Union[AiSessionChangeKind, str]] = ..., session: _Optional[_Union[AiSession, _Mapping]] = ..., fix: _Optional[_Union[SuggestedFix, _Mapping]] = ..., event: _Optional[_Union[FixEvent, _Mapping]] = ...) -> None: ...

class CheckAiSessionAccessRequest(_message.Message):
    __slots__ = ("ai_session_id", "fix_id")
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    ai_session_id: str
    fix_id: str
    def __init__(self, ai_session_id: _Optional[str] = ..., fix_id: _Optional[str] = ...) -> None: ...

class CheckAiSessionAccessResponse(_message.Message):
    __slots__ = ("ai_session_id", "account_id", "owner_user_id", "status", "fix")
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FIX_FIELD_NUMBER: _ClassVar[int]
    ai_session_id: str
    account_id: str
    owner_user_id: str
    status: AiSessionStatus
    fix: SuggestedFix
    def __init__(self, ai_session_id: _Optional[str] = ..., account_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., status: _Optional[_Union[AiSessionStatus, str]] = ..., fix: _Optional[_Union[SuggestedFix, _Mapping]] = ...) -> None: ...

class TemplateProposal(_message.Message):
    __slots__ = ("id", "fix_id", "ai_session_id", "account_id", "requested_by_user_id", "title", "description", "language", "script", "parameters", "created_at", "template_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    FIX_ID_FIELD_NUMBER: _ClassVar[int]
    AI_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    fix_id: str
    ai_session_id: str
    account_id: str
    requested_by_user_id: str
    title: str
    description: str
    language: _types_pb2.ScriptLanguage
    script: str
    parameters: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    template_id: str
    def __init__(self, id: _Optional[str] = ..., fix_id: _Optional[str] = ..., ai_session_id: _Optional[str] = ..., account_id: _Optional[str] = ..., requested_by_user_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., language: _Optional[_Union[_types_pb2.ScriptLanguage, str]] = ..., script: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., template_id: _Optional[str] = ...) -> None: ...

class ListPendingTemplateProposalsRequest(_message.Message):
    __slots__ = ("page_size",)
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    def __init__(self, page_size: _Optional[int] = ...) -> None: ...

class ListPendingTemplateProposalsResponse(_message.Message):
    __slots__ = ("proposals",)
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    proposals: _containers.RepeatedCompositeFieldContainer[TemplateProposal]
    def __init__(self, proposals: _Optional[_Iterable[_Union[TemplateProposal, _Mapping]]] = ...) -> None: ...

class AckTemplateProposalRequest(_message.Message):
    __slots__ = ("proposal_id", "template_id")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    template_id: str
    def __init__(self, proposal_id: _Optional[str] = ..., template_id: _Optional[str] = ...) -> None: ...

class OutcomeCounts(_message.Message):
    __slots__ = ("runs", "success", "failed", "partial", "never_applied", "pending", "decided", "success_rate")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    NEVER_APPLIED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    runs: int
    success: int
    failed: int
    partial: int
    never_applied: int
    pending: int
    decided: int
    success_rate: float
    def __init__(self, runs: _Optional[int] = ..., success: _Optional[int] = ..., failed: _Optional[int] = ..., partial: _Optional[int] = ..., never_applied: _Optional[int] = ..., pending: _Optional[int] = ..., decided: _Optional[int] = ..., success_rate: _Optional[float] = ...) -> None: ...

class DurationStats(_message.Message):
    __slots__ = ("samples", "p50_seconds", "p90_seconds")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    P50_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P90_SECONDS_FIELD_NUMBER: _ClassVar[int]
    samples: int
    p50_seconds: float
    p90_seconds: float
    def __init__(self, samples: _Optional[int] = ..., p50_seconds: _Optional[float] = ..., p90_seconds: _Optional[float] = ...) -> None: ...

class OutcomeGroup(_message.Message):
    __slots__ = ("key", "counts", "proposal_to_run", "run_to_outcome", "template_id", "template_version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_TO_RUN_FIELD_NUMBER: _ClassVar[int]
    RUN_TO_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    counts: OutcomeCounts
    proposal_to_run: DurationStats
    run_to_outcome: DurationStats
    template_id: str
    template_version: int
    def __init__(self, key: _Optional[str] = ..., counts: _Optional[_Union[OutcomeCounts, _Mapping]] = ..., proposal_to_run: _Optional[_Union[DurationStats, _Mapping]] = ..., run_to_outcome: _Optional[_Union[DurationStats, _Mapping]] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ...) -> None: ...

class GetOutcomeAnalyticsRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "group_by", "page_size")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: OutcomeDimension
    page_size: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Union[OutcomeDimension, str]] = ..., page_size: _Optional[int] = ...) -> None: ...

class OutcomeAnalytics(_message.Message):
    __slots__ = ("start_time", "end_time", "group_by", "totals", "proposal_to_run", "run_to_outcome", "groups", "groups_truncated")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_TO_RUN_FIELD_NUMBER: _ClassVar[int]
    RUN_TO_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: OutcomeDimension
    totals: OutcomeCounts
    proposal_to_run: DurationStats
    run_to_outcome: DurationStats
    groups: _containers.RepeatedCompositeFieldContainer[OutcomeGroup]
    groups_truncated: bool
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Union[OutcomeDimension, str]] = ..., totals: _Optional[_Union[OutcomeCounts, _Mapping]] = ..., proposal_to_run: _Optional[_Union[DurationStats, _Mapping]] = ..., run_to_outcome: _Optional[_Union[DurationStats, _Mapping]] = ..., groups: _Optional[_Iterable[_Union[OutcomeGroup, _Mapping]]] = ..., groups_truncated: _Optional[bool] = ...) -> None: ...

class GetSuccessRateRequest(_message.Message):
    __slots__ = ("template_id", "recipe_id", "start_time", "end_time")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    recipe_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., recipe_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SuccessRate(_message.Message):
    __slots__ = ("template_id", "recipe_id", "start_time", "end_time", "counts", "versions")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    recipe_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    counts: OutcomeCounts
    versions: _containers.RepeatedCompositeFieldContainer[OutcomeGroup]
    def __init__(self, template_id: _Optional[str] = ..., recipe_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Union[OutcomeCounts, _Mapping]] = ..., versions: _Optional[_Iterable[_Union[OutcomeGroup, _Mapping]]] = ...) -> None: ...
