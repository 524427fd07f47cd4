// The REST shapes of CONTRACT §3, as the gateway writes them (proto field
// names, enums as the seed spells them, unset values as null).

export type Language = 'powershell' | 'bash' | 'python'
export const LANGUAGES: readonly Language[] = ['powershell', 'bash', 'python']

export type AiSessionStatus = 'active' | 'resolved' | 'escalated'

export interface AiSession {
  id: string
  owner_user_id: string
  account_id: string
  title: string
  status: AiSessionStatus
  state_version: number
  created_at: string
  updated_at: string
  escalation_reason: string | null
  /** `"<state_version>"`: sent back as `If-Match` on writes (AIP-154). */
  etag: string
  /** What the caller may do to the session now (none for viewers or once it is closed). */
  allowed_actions: AiSessionAction[]
  /** The fixes an escalation must settle, and the choices each allows (the server's rule). */
  escalation_choices: FixEscalationChoices[]
}

export type AiSessionAction = 'resolve' | 'escalate' | 'propose_fix'

export interface FixEscalationChoices {
  fix_id: string
  allowed: EscalationChoice[]
}

export type FixStatus =
  | 'proposed'
  | 'applied_success'
  | 'applied_failed'
  | 'applied_partial'
  | 'dismissed'
export type FixOutcome = 'applied_success' | 'applied_failed' | 'applied_partial'
export type ScriptDecision = 'one_off' | 'draft_template' | 'build_template'
export type EscalationChoice =
  | 'applied_failed'
  | 'applied_success'
  | 'never_applied'
  | 'applied_partial'
export type BannerMode =
  | 'proposed'
  | 'verifying'
  | 'partial'
  | 'success'
  | 'failed'
  | 'dismissed'
  | 'frozen'
export type ApplyRoute =
  | 'template_match_panel'
  | 'no_template_dialog'
  | 'script_builder_tab'
  | 'none'

export interface AiOutcomeProposal {
  outcome: FixOutcome
  rationale: string
  proposed_at: string | null
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** What may be done to a fix now, computed by the fixes service from its lifecycle table. */
export type FixAction =
  | 'update_script'
  | 'apply'
  | 'decide_one_off'
  | 'decide_draft_template'
  | 'decide_build_template'
  | 'record_success'
  | 'record_failed'
  | 'record_partial'
  | 'dismiss'
  | 'propose_outcome'
  | 'clear_outcome_proposal'

/** A declared run, kept immutable: the exact script and values that ran. */
export interface FixRun {
  id: string
  kind: 'apply' | 'one_off' | 'draft_template' | null
  source: 'drafted_script' | 'template' | null
  script_template_id: string | null
  language: Language | null
  /** Unset when not known: a template run declared without values. */
  script: string | null
  parameters: JsonObject | null
  /** False when `script` is the drafted script as written (values were missing). */
  rendered: boolean
  declared_by_user_id: string
  declared_at: string | null
  state_version: number
}

export interface FixNote {
  outcome: FixOutcome | null
  notes: string
  recorded_by_user_id: string
  recorded_at: string | null
}

export interface SuggestedFix {
  id: string
  ai_session_id: string
  title: string
  description: string
  script_language: Language
  ai_drafted_script: string | null
  ai_drafted_parameters: JsonObject | null
  script_template_id: string | null
  /** The template version the fix is pinned to (issue 16). */
  script_template_version?: number | null
  status: FixStatus
  applied_at: string | null
  outcome_notes: string | null
  ai_outcome_proposal: AiOutcomeProposal | null
  script_decision: ScriptDecision | null
  created_at: string
  updated_at: string
  banner_mode: BannerMode
  apply_route: ApplyRoute
  needs_script: boolean
  etag: string
  state_version: number
  allowed_actions: FixAction[]
  script_parameters: TemplateParameter[]
  last_run: FixRun | null
  notes_history: FixNote[]
  /** Where the script came from (issue 16); absent from older gateways. */
  provenance?: ScriptProvenance | null
}

export interface ScriptProvenance {
  origin: string | null
  template_id: string | null
  template_version: number | null
  recipe_id: string | null
}

/** How declared runs ended (`decided` is the sample size of `success_rate`). */
export interface OutcomeCounts {
  runs: number
  success: number
  failed: number
  partial: number
  never_applied: number
  pending: number
  decided: number
  success_rate: number | null
}

export interface DurationStats {
  samples: number
  p50_seconds: number | null
  p90_seconds: number | null
}

export interface OutcomeGroup {
  key: string
  counts: OutcomeCounts
  proposal_to_run: DurationStats
  run_to_outcome: DurationStats
  template_id: string | null
  template_version: number | null
}

export type OutcomeDimension = 'template_version' | 'template' | 'origin' | 'language' | 'title_cluster' | 'recipe'

export interface OutcomeAnalytics {
  start_time: string
  end_time: string
  group_by: OutcomeDimension | null
  totals: OutcomeCounts
  proposal_to_run: DurationStats
  run_to_outcome: DurationStats
  groups: OutcomeGroup[]
  groups_truncated: boolean
}

export interface SuccessRate {
  template_id: string | null
  recipe_id: string | null
  counts: OutcomeCounts
  versions: OutcomeGroup[]
}

export type FixEventAction =
  | 'created'
  | 'script_updated'
  | 'applied'
  | 'script_decision_recorded'
  | 'outcome_recorded'
  | 'dismissed'
  | 'outcome_proposed'
  | 'outcome_proposal_cleared'
  | 'resolve_auto_success'
  | 'escalation_outcome'
  | 'session_resolved'
  | 'session_escalated'

export interface FixEvent {
  id: string
  /** Empty for the session's own rows (resolved, escalated). */
  fix_id: string
  ai_session_id: string
  actor_user_id: string
  action: FixEventAction
  from_status: FixStatus | null
  to_status: FixStatus | null
  details: JsonObject | null
  state_version: number
  created_at: string
  run: FixRun | null
}

export type AiSessionChangeKind = 'snapshot' | 'fix_created' | 'fix_updated' | 'session_updated'

/** One message of the session's live watch (server-sent events). */
export interface AiSessionChange {
  event_id: number
  kind: AiSessionChangeKind | null
  session: AiSession | null
  fix: SuggestedFix | null
  event: FixEvent | null
}

export type Origin = 'standalone' | 'pilot_inline'
export type EditorMode = 'ai' | 'editor'

export interface BuilderSession {
  id: string
  user_id: string
  account_id: string
  ai_session_id: string | null
  origin: Origin
  title: string
  language: Language
  status: 'active' | 'completed'
  editor_buffer: string
  mode: EditorMode | null
  created_at: string
  updated_at: string
  /** Inline sessions: the fix being drafted now; `language` follows it. */
  fix_id?: string | null
}

export interface BuilderMessage {
  id: string
  role: 'user' | 'assistant'
  content: string
  script: string | null
  created_at: string
  language?: Language | null
  /** One per placeholder of `script` (the template parameter shape). */
  parameters?: TemplateParameter[]
  /** Inline sessions: the fix this exchange drafted for. */
  fix_id?: string | null
}

export type ParameterType = 'string' | 'integer' | 'boolean' | 'enum'
export const PARAMETER_TYPES: readonly ParameterType[] = ['string', 'integer', 'boolean', 'enum']

export interface TemplateParameter {
  name: string
  type: ParameterType
  required: boolean
  default: JsonValue
  choices: string[]
  description: string
}

export type TemplateStatus = 'draft' | 'published'

export interface ScriptTemplate {
  id: string
  account_id: string
  created_by_user_id: string
  name: string
  description: string
  language: Language
  body: string
  parameters: TemplateParameter[]
  status: TemplateStatus
  source_fix_id: string | null
  source_session_id: string | null
  created_at: string
  updated_at: string
}

export interface RenderedScript {
  script: string
  language: Language
}
