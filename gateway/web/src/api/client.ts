// The console's one API client: every call to /api/v1 goes through here.
//
// The console holds no copy of the server's rules: which buttons a fix or a
// session offers comes from their `allowed_actions`, the escalation choices
// from the session's `escalation_choices`, a fix's script as it will run from
// the fix render. Writes carry the resource's `etag` as `If-Match`, so a stale
// tab is refused (412) instead of overwriting; live updates come from the
// session's server-sent events (`watchAiSession`).
import * as auth from '../auth'
import type {
  AiSession,
  AiSessionAction,
  AiSessionChange,
  BuilderMessage,
  BuilderSession,
  EditorMode,
  EscalationChoice,
  FixAction,
  OutcomeAnalytics,
  OutcomeDimension,
  SuccessRate,
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

/** Inline Submit: attach the drafted script with its typed parameters and their values.
 * Never stamps `applied_at`. The body names exactly the fields it sets (the
 * gateway makes them the update mask): parameters travel whenever the script
 * does, so a new script never keeps the previous one's parameters. */
export function submitFixScript(
  fix: SuggestedFix,
  script: string,
  parameters: TemplateParameter[],
  values: JsonObject,
  signal?: AbortSignal,
): Promise<SuggestedFix> {
  const body = {
    ai_drafted_script: script,
    script_parameters: parameters.map(parameterBody),
    ai_drafted_parameters: Object.keys(values).length ? values : null,
  }
  return request('PATCH', fixPath(fix, '/script'), { body, signal, headers: writePreconditions(fix) })
}

/** "✓ I ran this": the only stamp in TemplateMatchPanel. With the values the
 * script ran with, the server keeps the exact script in the fix's run record. */
export function declareRun(
  fix: SuggestedFix,
  parameters: Record<string, JsonValue> | null,
  signal?: AbortSignal,
): Promise<SuggestedFix> {
  return request('POST', fixPath(fix, '/apply'), {
    body: parameters ? { parameters } : {},
    signal,
    headers: writePreconditions(fix),
  })
}

/** A NoTemplateDialog card. `one_off` and `draft_template` declare a run: the
 * values given are the ones the copied script was rendered with. */
export function recordScriptDecision(
  fix: SuggestedFix,
  decision: ScriptDecision,
  parameters: Record<string, JsonValue> | null,
  signal?: AbortSignal,
): Promise<SuggestedFix> {
  const runs = decision !== 'build_template'
  return request('POST', fixPath(fix, '/script-decision'), {
    body: runs && parameters ? { decision, parameters } : { decision },
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
  return request('DELETE', fixPath(fix, '/ai-outcome-proposal'), { signal, headers: writePreconditions(fix) })
}

/** The session's audit trail, oldest first: every fix's rows and the
 * session's own (resolved, escalated), which belong to no fix. */
export function listAiSessionEvents(sessionId: string, signal?: AbortSignal): Promise<FixEvent[]> {
  return collectPages(async (pageToken) => {
    const page = await request<{ events: FixEvent[]; next_page_token: string }>(
      'GET',
      `/ai-sessions/${segment(sessionId)}/events`,
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
  fixId?: string,
): Promise<MessageExchange> {
  return request('POST', `/script-builder/sessions/${segment(sessionId)}/messages`, {
    body: fixId ? { content, fix_id: fixId } : { content },
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

export function parameterBody(parameter: TemplateParameter): Record<string, unknown> {
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
  version?: number | null,
): Promise<RenderedScript> {
  return request('POST', `/script-templates/${segment(templateId)}/render`, {
    body: version ? { parameters, version } : { parameters },
    signal,
  })
}

// ------------------------------------------------------------------ analytics

/** A template's or a recipe's success rate in the caller's account (the last 90 days). */
export function getSuccessRate(
  subject: { templateId: string } | { recipeId: string },
  signal?: AbortSignal,
): Promise<SuccessRate> {
  const query = 'templateId' in subject ? { template_id: subject.templateId } : { recipe_id: subject.recipeId }
  return request('GET', '/analytics/success-rate', { query, signal })
}

/** The account's outcomes over the last `days`, totals and (with `groupBy`) per group. */
export function getOutcomeAnalytics(
  days: number,
  groupBy: OutcomeDimension | null,
  signal?: AbortSignal,
): Promise<OutcomeAnalytics> {
  const end = new Date()
  const start = new Date(end.getTime() - days * 86_400_000)
  return request('GET', '/analytics/outcomes', {
    query: {
      start_time: start.toISOString(),
      end_time: end.toISOString(),
      group_by: groupBy ?? undefined,
      page_size: groupBy ? 100 : undefined,
    },
    signal,
  })
}

// ============================================ what the server allows, and when

/** Whether the server lists `action` for this fix now (none for viewers or frozen fixes). */
export function fixAllows(fix: SuggestedFix, action: FixAction): boolean {
  return fix.allowed_actions.includes(action)
}

export function sessionAllows(session: AiSession, action: AiSessionAction): boolean {
  return session.allowed_actions.includes(action)
}

export interface FixActions {
  /** The banner's "Apply": opens the surface `apply_route` names, if that surface can act. */
  apply: boolean
  dismiss: boolean
  recordSuccess: boolean
  recordFailed: boolean
  recordPartial: boolean
  /** Confirming the AI's outcome proposal records that outcome. */
  confirmProposal: boolean
  clearProposal: boolean
  /** TemplateMatchPanel's "✓ I ran this" (declaring again would be a no-op). */
  declareRun: boolean
  decide: Record<ScriptDecision, boolean>
}

/** The fix's buttons, from `allowed_actions` (the fixes service's lifecycle table). */
export function fixActions(fix: SuggestedFix): FixActions {
  const can = (action: FixAction) => fixAllows(fix, action)
  const decide = {
    one_off: can('decide_one_off'),
    draft_template: can('decide_draft_template'),
    build_template: can('decide_build_template'),
  }
  // Apply belongs to the Proposed banner (seed §4); once a run is declared the
  // banner asks how it went instead.
  const routeUsable =
    fix.apply_route === 'template_match_panel'
      ? can('apply')
      : fix.apply_route === 'no_template_dialog'
        ? decide.one_off || decide.draft_template || decide.build_template
        : fix.apply_route === 'script_builder_tab'
          ? can('update_script')
          : false
  const proposal = fix.ai_outcome_proposal
  return {
    apply: fix.banner_mode === 'proposed' && routeUsable,
    dismiss: can('dismiss'),
    recordSuccess: can('record_success'),
    recordFailed: can('record_failed'),
    recordPartial: can('record_partial'),
    confirmProposal:
      proposal != null &&
      can(
        proposal.outcome === 'applied_success'
          ? 'record_success'
          : proposal.outcome === 'applied_failed'
            ? 'record_failed'
            : 'record_partial',
      ),
    clearProposal: proposal != null && can('clear_outcome_proposal'),
    declareRun: fix.applied_at == null && can('apply'),
    decide,
  }
}

/** The seed's tab strip: the fix needs a script (the server says false for frozen
 * fixes) and this caller may attach one (viewers may not). */
export function needsScript(fix: SuggestedFix | null): boolean {
  return fix != null && fix.needs_script && fixAllows(fix, 'update_script')
}

export interface EscalationEntry {
  fix: SuggestedFix
  allowed: EscalationChoice[]
}

/** The fixes the session says an escalation must settle, with the choices each allows. */
export function escalationEntries(session: AiSession, fixes: SuggestedFix[]): EscalationEntry[] {
  const byId = new Map(fixes.map((f) => [f.id, f]))
  const entries: EscalationEntry[] = []
  for (const entry of session.escalation_choices) {
    const fix = byId.get(entry.fix_id)
    if (fix) entries.push({ fix, allowed: entry.allowed })
  }
  return entries
}

/** `If-Match` with the resource's entity tag: a write to a version this tab has not seen is
 * refused with 412 `ETAG_MISMATCH`, nothing written (AIP-154). */
export function writePreconditions(resource: AiSession | SuggestedFix): Record<string, string> {
  return resource.etag ? { 'If-Match': resource.etag } : {}
}

/** A write refused because the resource changed since this tab read it. */
export function isStale(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 412 || error.reason === 'ETAG_MISMATCH')
}

// ------------------------------------------------------- inline drafting

/** The one inline session of (me, this AI session), drafting for `fix` from now on:
 * its `fix_id` and `language` follow the fix. */
export function getOrCreateInlineSession(
  fix: SuggestedFix,
  signal?: AbortSignal,
): Promise<BuilderSession> {
  return request('POST', '/script-builder/sessions', {
    body: { origin: 'pilot_inline', ai_session_id: fix.ai_session_id, fix_id: fix.id },
    signal,
  })
}

export interface DraftStream {
  onUserMessage?: (message: BuilderMessage) => void
  /** The answer's text so far. */
  onText?: (text: string) => void
}

/** A message to the drafter (about `fix`, in an inline session), streamed
 * (StreamMessage over server-sent events: the answer's text shows as it is
 * written), else sent whole. */
export async function sendDrafterMessage(
  builderSessionId: string,
  content: string,
  fix: SuggestedFix | null,
  signal?: AbortSignal,
  progress: DraftStream = {},
): Promise<MessageExchange> {
  let user: BuilderMessage | null = null
  let assistant: BuilderMessage | null = null
  let text = ''
  try {
    await readEventStream(
      'POST',
      `/script-builder/sessions/${segment(builderSessionId)}/messages:stream`,
      { body: fix ? { content, fix_id: fix.id } : { content }, signal },
      (event) => {
        const data = JSON.parse(event.data) as {
          user_message?: BuilderMessage | null
          text_delta?: { text: string } | null
          assistant_message?: BuilderMessage | null
        }
        if (event.event === 'user_message' && data.user_message) {
          user = data.user_message
          progress.onUserMessage?.(user)
        } else if (event.event === 'text_delta' && data.text_delta) {
          text += data.text_delta.text
          progress.onText?.(text)
        } else if (event.event === 'assistant_message' && data.assistant_message) {
          assistant = data.assistant_message
        }
      },
    )
  } catch (error) {
    // A gateway without the streaming route: the plain call does the same exchange.
    if (error instanceof ApiError && (error.reason === 'ROUTE_NOT_FOUND' || error.status === 405)) {
      return sendMessage(builderSessionId, content, signal, fix?.id)
    }
    throw error
  }
  if (!user || !assistant) throw new ConnectionError()
  return { user_message: user, assistant_message: assistant }
}

export interface DraftChanges {
  editor_buffer?: string
  mode?: EditorMode
}

/** Saves only the fields given: the gateway makes the body's keys the update mask, so the
 * buffer survives a mode switch and the mode a buffer save. */
export function saveDraft(
  builderSessionId: string,
  changes: DraftChanges,
  signal?: AbortSignal,
): Promise<BuilderSession> {
  return request('PATCH', `/script-builder/sessions/${segment(builderSessionId)}/draft`, {
    body: changes,
    signal,
  })
}

/** The typed parameters a drafted script goes with: the drafter's when it typed them
 * (kept for placeholders still in the script), else one required string per placeholder. */
export function draftedParameters(names: string[], typed: TemplateParameter[]): TemplateParameter[] {
  return names.map(
    (name) =>
      typed.find((p) => p.name === name) ?? {
        name,
        type: 'string',
        required: true,
        default: null,
        choices: [],
        description: '',
      },
  )
}

/** The drafted script as it will run: the server renders it with the values given, else the
 * fix's own, quoted for the fix's language (the same code that renders templates). */
export function renderDraftedScript(
  fix: SuggestedFix,
  parameters: Record<string, JsonValue>,
  signal?: AbortSignal,
): Promise<RenderedScript> {
  return request('POST', fixPath(fix, ':render'), { body: { parameters }, signal })
}

// ------------------------------------------------------------ live updates

interface StreamEvent {
  id: string
  event: string
  data: string
}

/** Without a byte for this long (the gateway sends `: ping` every 15 s), the stream is
 * taken as dead and reopened. */
const STALL_MS = 45_000

/** Server-sent events read with fetch (EventSource cannot send the Authorization header).
 * Resolves when the server ends the stream; throws ApiError for an error answer or an
 * `event: error`, ConnectionError when the connection drops. */
async function readEventStream(
  method: string,
  path: string,
  options: { body?: unknown; signal?: AbortSignal; headers?: Record<string, string> },
  onEvent: (event: StreamEvent) => void,
  onOpen?: () => void,
): Promise<void> {
  const controller = new AbortController()
  const outer = options.signal
  const abortInner = () => controller.abort()
  outer?.addEventListener('abort', abortInner)
  let stall = 0
  const armStall = () => {
    window.clearTimeout(stall)
    stall = window.setTimeout(() => controller.abort(), STALL_MS)
  }
  const headers: Record<string, string> = { Accept: 'text/event-stream', ...options.headers }
  const token = auth.getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  try {
    armStall()
    let response: Response
    try {
      response = await fetch(API_PREFIX + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
      })
    } catch (error) {
      if (outer?.aborted) throw new DOMException('aborted', 'AbortError')
      void error
      throw new ConnectionError()
    }
    if (!response.ok || !response.body) {
      let payload: unknown = null
      try {
        payload = JSON.parse(await response.text())
      } catch {
        payload = null
      }
      if (response.status === 401) auth.signOut('rejected')
      throw new ApiError(response.status, payload)
    }
    onOpen?.()
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    let current: StreamEvent = { id: '', event: '', data: '' }
    let dataLines: string[] = []
    for (;;) {
      let chunk: ReadableStreamReadResult<string>
      try {
        chunk = await reader.read()
      } catch {
        if (outer?.aborted) throw new DOMException('aborted', 'AbortError')
        throw new ConnectionError()
      }
      if (chunk.done) return
      armStall()
      buffer += chunk.value
      let newline: number
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
        if (line === '') {
          if (dataLines.length) {
            const event = { ...current, data: dataLines.join('\n') }
            if (event.event === 'error') {
              let payload: { error?: { code?: number } } | null = null
              try {
                payload = JSON.parse(event.data) as { error?: { code?: number } }
              } catch {
                payload = null
              }
              const status = payload?.error?.code ?? 500
              if (status === 401) auth.signOut('rejected')
              throw new ApiError(status, payload)
            }
            onEvent(event)
          }
          current = { id: current.id, event: '', data: '' }
          dataLines = []
          continue
        }
        if (line.startsWith(':')) continue // a heartbeat
        const colon = line.indexOf(':')
        const name = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (name === 'data') dataLines.push(value)
        else if (name === 'event') current.event = value
        else if (name === 'id') current.id = value
      }
    }
  } finally {
    window.clearTimeout(stall)
    outer?.removeEventListener('abort', abortInner)
    controller.abort()
  }
}

export const POLL_INTERVAL_MS = 3000
const MAX_BACKOFF_MS = 15_000

export type WatchState = 'connecting' | 'live' | 'polling'

export interface WatchHandlers {
  /** One change of the session (also the first `snapshot`). */
  onChange: (change: AiSessionChange) => void
  /** Polling (the fallback) saw the session at another version than `knownVersion`. */
  onStale: (session: AiSession) => void
  knownVersion: () => number
  /** A failure to stay up to date, then null once the screen is current again. */
  onError: (error: unknown) => void
  onState?: (state: WatchState) => void
}

export interface Watch {
  /** Reconnect now instead of waiting out the backoff (the "Retry" button). */
  retry: () => void
}

/**
 * Live updates of an AI session: `GET /api/v1/ai-sessions/{id}/events:watch` (server-sent
 * events), resumed with `Last-Event-ID` after a drop, reopened with backoff (0.5 s doubling
 * to 15 s). Polling is the fallback only: while the stream is down it polls every 3 s,
 * and it keeps polling (trying the stream again every minute) when the gateway has no
 * such route or the user has too many watches open (429).
 */
export function watchAiSession(sessionId: string, handlers: WatchHandlers, signal: AbortSignal): Watch {
  let lastEventId = 0
  let failures = 0
  let wake: (() => void) | null = null
  /** The open stream's own abort: a drop (the browser went offline), not the end of the watch. */
  let attempt: AbortController | null = null
  const path = `/ai-sessions/${segment(sessionId)}/events:watch`

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = window.setTimeout(done, ms)
      function done(): void {
        window.clearTimeout(timer)
        signal.removeEventListener('abort', done)
        wake = null
        resolve()
      }
      wake = done
      signal.addEventListener('abort', done)
    })

  const poll = async (): Promise<void> => {
    try {
      const session = await getAiSession(sessionId, signal)
      if (signal.aborted) return
      handlers.onError(null)
      if (session.state_version !== handlers.knownVersion()) handlers.onStale(session)
    } catch (error) {
      if (!signal.aborted && !isAbort(error)) handlers.onError(error)
    }
  }

  /** Poll every 3 s for `ms` (or until woken). */
  const pollFor = async (ms: number): Promise<void> => {
    const until = Date.now() + ms
    while (!signal.aborted && Date.now() < until) {
      await sleep(POLL_INTERVAL_MS)
      if (signal.aborted) return
      if (document.visibilityState === 'visible') await poll()
      if (failures === 0) return // woken by "Retry"
    }
  }

  const retry = () => {
    failures = 0
    wake?.()
  }
  // The browser knows before the stream does: a stream through a network that is
  // gone may sit silent until the stall timer; drop it now, and reconnect when it is back.
  const offline = () => attempt?.abort()
  window.addEventListener('offline', offline)
  window.addEventListener('online', retry)
  signal.addEventListener('abort', () => {
    window.removeEventListener('offline', offline)
    window.removeEventListener('online', retry)
    attempt?.abort()
  })

  void (async () => {
    while (!signal.aborted) {
      handlers.onState?.('connecting')
      attempt = new AbortController()
      try {
        await readEventStream(
          'GET',
          path,
          { signal: attempt.signal, headers: lastEventId ? { 'Last-Event-ID': String(lastEventId) } : {} },
          (event) => {
            const change = JSON.parse(event.data) as AiSessionChange
            if (change.event_id) lastEventId = change.event_id
            handlers.onChange(change)
          },
          () => {
            // Open again: what was missed comes first (resumed from the audit trail).
            if (failures) handlers.onError(null)
            failures = 0
            handlers.onState?.('live')
          },
        )
        // The server ended the stream (a rollout): reopen at once, where we were.
        continue
      } catch (error) {
        if (signal.aborted) return
        if (error instanceof ApiError && error.status === 401) return
        failures += 1
        const unsupported =
          error instanceof ApiError &&
          (error.reason === 'ROUTE_NOT_FOUND' || error.status === 405 || error.status === 429)
        if (unsupported) {
          handlers.onState?.('polling')
          failures = 1
          await pollFor(60_000)
          continue
        }
        // A drop: say so only if reconnecting does not cure it at once.
        const problem = isAbort(error) ? new ConnectionError() : error
        if (failures >= 2) handlers.onError(problem)
        handlers.onState?.('polling')
        const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failures - 1))
        const jittered = backoff / 2 + Math.random() * (backoff / 2)
        if (failures >= 2) await poll()
        await sleep(jittered)
      }
    }
  })()

  return { retry }
}
