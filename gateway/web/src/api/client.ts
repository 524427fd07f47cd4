// The console's one API client: every call to /api/v1 goes through here.
//
// Places marked `// issue-10:` are where the console works around today's API
// and will switch to what issue 10 ("The API the console needs") adds:
// allowed_actions, frozen fixes, fix-targeted inline drafting, PATCH fields
// left alone when absent, typed drafted parameters with a fix render, ETag /
// If-Match, and live updates over SSE. Each is one small function, so the
// switch is a follow-up that touches this file and little else.
import * as auth from '../auth'
import type {
  AiSession,
  BuilderMessage,
  BuilderSession,
  EditorMode,
  EscalationChoice,
  FixEvent,
  FixOutcome,
  JsonObject,
  JsonValue,
  Language,
  RenderedScript,
  ScriptDecision,
  ScriptTemplate,
  SuggestedFix,
  TemplateParameter,
  TemplateStatus,
} from './types'

const API_PREFIX = '/api/v1'

// ------------------------------------------------------------------ errors

/** An answer from the gateway with an error body (CONTRACT §6). */
export class ApiError extends Error {
  readonly status: number
  readonly grpcStatus: string
  readonly reason: string | null
  readonly metadata: Record<string, string>
  readonly field: string | null

  constructor(status: number, payload: unknown) {
    const error = (payload as { error?: Record<string, unknown> } | null)?.error ?? {}
    const details = Array.isArray(error.details) ? (error.details as Record<string, unknown>[]) : []
    const info = details.find((d) => String(d['@type'] ?? '').endsWith('google.rpc.ErrorInfo'))
    const badRequest = details.find((d) => String(d['@type'] ?? '').endsWith('google.rpc.BadRequest'))
    const violations = (badRequest?.field_violations ?? badRequest?.fieldViolations) as
      | { field?: string }[]
      | undefined
    super(typeof error.message === 'string' && error.message ? error.message : `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.grpcStatus = typeof error.status === 'string' ? error.status : ''
    this.reason = typeof info?.reason === 'string' ? info.reason : null
    this.metadata = (info?.metadata as Record<string, string> | undefined) ?? {}
    this.field = violations?.[0]?.field ?? this.metadata.field ?? null
  }

  /** 502/503/504: the system is there but a part of it is not answering. */
  get retryable(): boolean {
    return this.status === 502 || this.status === 503 || this.status === 504
  }
}

/** No answer at all: the network or the gateway is gone. */
export class ConnectionError extends Error {
  constructor() {
    super('The connection to FlowPilot was lost.')
    this.name = 'ConnectionError'
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError'
}

/** Errors a "Retry" can cure (as opposed to a 400/409 that needs another input). */
export function isConnectionProblem(error: unknown): boolean {
  return error instanceof ConnectionError || (error instanceof ApiError && error.retryable)
}

// ------------------------------------------------------------------- transport

interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | boolean | undefined | null>
  signal?: AbortSignal
  headers?: Record<string, string>
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  const token = auth.getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  let url = API_PREFIX + path
  if (options.query) {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(options.query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
    }
    const text = params.toString()
    if (text) url += `?${text}`
  }
  let response: Response
  let text: string
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
      credentials: 'omit',
    })
    text = await response.text()
  } catch (error) {
    if (isAbort(error) || options.signal?.aborted) throw new DOMException('aborted', 'AbortError')
    throw new ConnectionError()
  }
  // A response that arrives after its screen went away is dropped here.
  if (options.signal?.aborted) throw new DOMException('aborted', 'AbortError')
  let payload: unknown = null
  if (text) {
    try {
      payload = JSON.parse(text)
    } catch {
      payload = null
    }
  }
  if (response.ok) return payload as T
  if (response.status === 401) auth.signOut('rejected')
  throw new ApiError(response.status, payload)
}

async function collectPages<T>(
  fetchPage: (pageToken: string | undefined) => Promise<{ items: T[]; next: string }>,
): Promise<T[]> {
  const items: T[] = []
  let token: string | undefined
  for (let guard = 0; guard < 50; guard += 1) {
    const page = await fetchPage(token)
    items.push(...page.items)
    if (!page.next) break
    token = page.next
  }
  return items
}

const segment = encodeURIComponent

// ----------------------------------------------------------- AI sessions, fixes

export function listAiSessions(signal?: AbortSignal): Promise<AiSession[]> {
  return collectPages(async (pageToken) => {
    const page = await request<{ ai_sessions: AiSession[]; next_page_token: string }>(
      'GET',
      '/ai-sessions',
      { query: { page_size: 100, page_token: pageToken }, signal },
    )
    return { items: page.ai_sessions, next: page.next_page_token }
  })
}

export function createAiSession(title: string): Promise<AiSession> {
  return request('POST', '/ai-sessions', { body: { title } })
}

export function getAiSession(sessionId: string, signal?: AbortSignal): Promise<AiSession> {
  return request('GET', `/ai-sessions/${segment(sessionId)}`, { signal })
}

export function resolveAiSession(session: AiSession, signal?: AbortSignal): Promise<AiSession> {
  return request('POST', `/ai-sessions/${segment(session.id)}/resolve`, {
    signal,
    headers: writePreconditions(session),
  })
}

export interface FixOutcomeChoice {
  fix_id: string
  choice: EscalationChoice
  notes?: string
}

export function escalateAiSession(
  session: AiSession,
  reason: string,
  fixOutcomes: FixOutcomeChoice[],
  signal?: AbortSignal,
): Promise<AiSession> {
  return request('POST', `/ai-sessions/${segment(session.id)}/escalate`, {
    body: { reason, fix_outcomes: fixOutcomes },
    signal,
    headers: writePreconditions(session),
  })
}

export function listFixes(sessionId: string, signal?: AbortSignal): Promise<SuggestedFix[]> {
  return collectPages(async (pageToken) => {
    const page = await request<{ suggested_fixes: SuggestedFix[]; next_page_token: string }>(
      'GET',
      `/ai-sessions/${segment(sessionId)}/suggested-fixes`,
      { query: { page_size: 100, page_token: pageToken }, signal },
    )
    return { items: page.suggested_fixes, next: page.next_page_token }
  })
}

export interface NewFix {
  title: string
  description: string
  script_language: Language
  ai_drafted_script?: string
  script_template_id?: string
}

/** What the AI side does; engineers may do it too (CONTRACT §3), used in development. */
export function proposeFix(sessionId: string, fix: NewFix): Promise<SuggestedFix> {
  return request('POST', `/ai-sessions/${segment(sessionId)}/suggested-fixes`, { body: fix })
}

function fixPath(fix: SuggestedFix, action = ''): string {
  return `/ai-sessions/${segment(fix.ai_session_id)}/suggested-fixes/${segment(fix.id)}${action}`
}

/** Inline Submit: attach the drafted script. Never stamps `applied_at`. */
export function submitFixScript(
  fix: SuggestedFix,
  script: string,
  parameters: JsonObject | null,
  signal?: AbortSignal,
): Promise<SuggestedFix> {
  const body: Record<string, unknown> = { ai_drafted_script: script }
  if (parameters && Object.keys(parameters).length) body.ai_drafted_parameters = parameters
  return request('PATCH', fixPath(fix, '/script'), { body, signal, headers: writePreconditions(fix) })
}

/** "✓ I ran this": the only stamp in TemplateMatchPanel. */
export function declareRun(fix: SuggestedFix, signal?: AbortSignal): Promise<SuggestedFix> {
  return request('POST', fixPath(fix, '/apply'), { signal, headers: writePreconditions(fix) })
}

export function recordScriptDecision(
  fix: SuggestedFix,
  decision: ScriptDecision,
  signal?: AbortSignal,
): Promise<SuggestedFix> {
  return request('POST', fixPath(fix, '/script-decision'), {
    body: { decision },
    signal,
    headers: writePreconditions(fix),
  })
}

export function recordOutcome(
  fix: SuggestedFix,
  outcome: FixOutcome,
  notes: string,
  signal?: AbortSignal,
): Promise<SuggestedFix> {
  const body: Record<string, string> = { outcome }
  if (notes) body.notes = notes
  return request('PATCH', fixPath(fix, '/outcome'), { body, signal, headers: writePreconditions(fix) })
}

export function dismissFix(fix: SuggestedFix, signal?: AbortSignal): Promise<SuggestedFix> {
  return request('POST', fixPath(fix, '/dismiss'), { signal, headers: writePreconditions(fix) })
}

export function clearOutcomeProposal(fix: SuggestedFix, signal?: AbortSignal): Promise<SuggestedFix> {
  return request('DELETE', fixPath(fix, '/ai-outcome-proposal'), { signal })
}

export function listFixEvents(fix: SuggestedFix, signal?: AbortSignal): Promise<FixEvent[]> {
  return collectPages(async (pageToken) => {
    const page = await request<{ events: FixEvent[]; next_page_token: string }>(
      'GET',
      fixPath(fix, '/events'),
      { query: { page_size: 500, page_token: pageToken }, signal },
    )
    return { items: page.events, next: page.next_page_token }
  })
}

// ------------------------------------------------------------ script builder

export const STANDALONE_SESSION_CAP = 5

export function listBuilderSessions(signal?: AbortSignal): Promise<BuilderSession[]> {
  return collectPages(async (pageToken) => {
    const page = await request<{ sessions: BuilderSession[]; next_page_token: string }>(
      'GET',
      '/script-builder/sessions',
      { query: { page_size: 100, page_token: pageToken }, signal },
    )
    return { items: page.sessions, next: page.next_page_token }
  })
}

export function createStandaloneSession(title: string, language: Language): Promise<BuilderSession> {
  return request('POST', '/script-builder/sessions', {
    body: { origin: 'standalone', title, language },
  })
}

export function getBuilderSession(id: string, signal?: AbortSignal): Promise<BuilderSession> {
  return request('GET', `/script-builder/sessions/${segment(id)}`, { signal })
}

export function deleteBuilderSession(id: string): Promise<void> {
  return request('DELETE', `/script-builder/sessions/${segment(id)}`)
}

export function listMessages(sessionId: string, signal?: AbortSignal): Promise<BuilderMessage[]> {
  return collectPages(async (pageToken) => {
    const page = await request<{ messages: BuilderMessage[]; next_page_token: string }>(
      'GET',
      `/script-builder/sessions/${segment(sessionId)}/messages`,
      { query: { page_size: 500, page_token: pageToken }, signal },
    )
    return { items: page.messages, next: page.next_page_token }
  })
}

export interface MessageExchange {
  user_message: BuilderMessage
  assistant_message: BuilderMessage
}

export function sendMessage(
  sessionId: string,
  content: string,
  signal?: AbortSignal,
): Promise<MessageExchange> {
  return request('POST', `/script-builder/sessions/${segment(sessionId)}/messages`, {
    body: { content },
    signal,
  })
}

export function saveSessionAsTemplate(
  sessionId: string,
  name: string,
  description: string,
  parameters: TemplateParameter[],
): Promise<ScriptTemplate> {
  return request('POST', `/script-builder/sessions/${segment(sessionId)}/template`, {
    body: { name, description, parameters: parameters.map(parameterBody) },
  })
}

function parameterBody(parameter: TemplateParameter): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: parameter.name,
    type: parameter.type,
    required: parameter.required,
    description: parameter.description,
  }
  if (parameter.type === 'enum') body.choices = parameter.choices
  if (parameter.default !== null && parameter.default !== '') body.default = parameter.default
  return body
}

// ------------------------------------------------------------------ templates

export interface TemplatePage {
  templates: ScriptTemplate[]
  next_page_token: string
}

export function listTemplates(
  filter: { status?: TemplateStatus | null; pageToken?: string },
  signal?: AbortSignal,
): Promise<TemplatePage> {
  return request('GET', '/script-templates', {
    query: { status: filter.status ?? undefined, page_token: filter.pageToken, page_size: 50 },
    signal,
  })
}

export function getTemplate(templateId: string, signal?: AbortSignal): Promise<ScriptTemplate> {
  return request('GET', `/script-templates/${segment(templateId)}`, { signal })
}

export function publishTemplate(templateId: string): Promise<ScriptTemplate> {
  return request('POST', `/script-templates/${segment(templateId)}/publish`)
}

/** "Generate": render with values. Never stamps anything. */
export function renderTemplate(
  templateId: string,
  parameters: Record<string, JsonValue>,
  signal?: AbortSignal,
): Promise<RenderedScript> {
  return request('POST', `/script-templates/${segment(templateId)}/render`, {
    body: { parameters },
    signal,
  })
}

// ===================================================== issue-10 adaptation points

/** A session that is no longer active freezes its fixes. */
export function sessionIsActive(session: AiSession): boolean {
  return session.status === 'active'
}

export interface FixActions {
  apply: boolean
  dismiss: boolean
  outcome: boolean
  partial: boolean
  proposal: boolean
  draftScript: boolean
}

// issue-10: replace with `fix.allowed_actions` (computed by the fixes service
// from its lifecycle table). Until then this reads today's fields, plus the
// session status that today's derived fields ignore (frozen fixes).
export function fixActions(fix: SuggestedFix, session: AiSession): FixActions {
  const live = sessionIsActive(session)
  const mode = fix.banner_mode
  return {
    apply: live && fix.apply_route !== 'none' && mode === 'proposed',
    dismiss: live && mode === 'proposed',
    outcome: live && (mode === 'verifying' || mode === 'partial'),
    partial: live && mode === 'verifying',
    proposal: live && (mode === 'verifying' || mode === 'partial') && fix.ai_outcome_proposal != null,
    draftScript: live && fix.needs_script,
  }
}

// issue-10: `apply_route` / `needs_script` will say "frozen" themselves once the
// session is not active; today they ignore the session, so the console checks it.
export function needsScript(fix: SuggestedFix | null, session: AiSession): boolean {
  return fix != null && sessionIsActive(session) && fix.needs_script
}

// issue-10: the AI session will list the fixes that need an escalation choice;
// today: every fix in Verifying or applied_partial (CONTRACT §4).
export function fixesNeedingEscalationChoice(fixes: SuggestedFix[]): SuggestedFix[] {
  return fixes.filter((f) => f.banner_mode === 'verifying' || f.banner_mode === 'partial')
}

// issue-10: from the fix's allowed actions. `never_applied` and
// `applied_partial` are for Verifying fixes only (CONTRACT §4).
export function escalationChoicesFor(fix: SuggestedFix): EscalationChoice[] {
  if (fix.banner_mode === 'partial') return ['applied_failed', 'applied_success']
  return ['applied_failed', 'applied_success', 'never_applied', 'applied_partial']
}

// issue-10: send `If-Match: "<state_version>"` and handle 412 (see
// describeError). Today no resource carries an ETag, so nothing is sent.
export function writePreconditions(resource: AiSession | SuggestedFix): Record<string, string> {
  void resource
  return {}
}

// issue-10: get-or-create will name the fix being drafted (`fix_id`), and the
// drafter will work on that fix. Today there is one inline session per AI
// session; its language is the one it was first created with.
export function getOrCreateInlineSession(
  fix: SuggestedFix,
  signal?: AbortSignal,
): Promise<BuilderSession> {
  return request('POST', '/script-builder/sessions', {
    body: { origin: 'pilot_inline', ai_session_id: fix.ai_session_id, language: fix.script_language },
    signal,
  })
}

// issue-10: each message will name the `fix_id` it drafts for.
export function sendDrafterMessage(
  builderSessionId: string,
  content: string,
  fix: SuggestedFix,
  signal?: AbortSignal,
): Promise<MessageExchange> {
  void fix
  return sendMessage(builderSessionId, content, signal)
}

// issue-10: PATCH will leave absent fields alone; today an absent
// `editor_buffer` erases the buffer, so both fields always travel together.
export function saveDraft(
  builderSessionId: string,
  editorBuffer: string,
  mode: EditorMode,
  signal?: AbortSignal,
): Promise<BuilderSession> {
  return request('PATCH', `/script-builder/sessions/${segment(builderSessionId)}/draft`, {
    body: { editor_buffer: editorBuffer, mode },
    signal,
  })
}

// issue-10: drafted parameters become typed (the template parameter shape,
// returned by the drafter). Today `ai_drafted_parameters` is a plain object of
// values, which is what the relay reads as defaults.
export function draftedParametersPayload(values: Record<string, string>): JsonObject | null {
  const payload: JsonObject = {}
  for (const [name, value] of Object.entries(values)) {
    if (value.trim() !== '') payload[name] = value
  }
  return Object.keys(payload).length ? payload : null
}

export interface DraftedScriptView {
  script: string
  values: [string, JsonValue][]
  rendered: boolean
}

// issue-10: `POST …/suggested-fixes/{fix_id}:render` will return the script with
// its parameters quoted for the language. Today there is no fix render; the
// console shows the script as drafted and lists the values beside it (it does
// not substitute them itself: quoting is the server's job).
export async function renderDraftedScript(fix: SuggestedFix): Promise<DraftedScriptView> {
  const values = Object.entries(fix.ai_drafted_parameters ?? {})
  return { script: fix.ai_drafted_script ?? '', values, rendered: false }
}

export const WATCH_INTERVAL_MS = 3000

// issue-10: subscribe to `GET /api/v1/ai-sessions/{session_id}/events:watch`
// (server-sent events, resumable with Last-Event-ID). Today: poll the session
// and call `onChange` when its `state_version` moved; `onError` gets a poll's
// failure, then null once a poll succeeds again (it keeps polling, so the
// screen recovers by itself). Stops with `signal`.
export function watchAiSession(
  sessionId: string,
  knownVersion: () => number,
  onChange: (session: AiSession) => void,
  onError: (error: unknown) => void,
  signal: AbortSignal,
): void {
  let timer = 0
  const tick = async (): Promise<void> => {
    if (signal.aborted) return
    if (document.visibilityState === 'visible') {
      try {
        const session = await getAiSession(sessionId, signal)
        if (!signal.aborted) onError(null)
        if (!signal.aborted && session.state_version !== knownVersion()) onChange(session)
      } catch (error) {
        if (!signal.aborted && !isAbort(error)) onError(error)
      }
    }
    if (!signal.aborted) timer = window.setTimeout(tick, WATCH_INTERVAL_MS)
  }
  timer = window.setTimeout(tick, WATCH_INTERVAL_MS)
  signal.addEventListener('abort', () => window.clearTimeout(timer))
}
