// Pure helpers about scripts: the editor scaffold and `{{name}}` placeholders.
import type { Language, TemplateParameter } from '../api/types'

/** The Monaco scaffold: the fix's description as a comment header, an empty body. */
export function scaffoldFor(language: Language, title: string, description: string): string {
  const lines = [`Fix: ${title}`, ...description.split(/\r?\n/)].map((l) => l.trimEnd())
  const comment = lines.map((l) => (l ? `# ${l}` : '#')).join('\n')
  switch (language) {
    case 'powershell':
      return `${comment}\n\n$ErrorActionPreference = 'Stop'\n\n`
    case 'bash':
      return `#!/usr/bin/env bash\n${comment}\n\nset -euo pipefail\n\n`
    case 'python':
      return `${comment}\n\n`
  }
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

/** The distinct `{{name}}` placeholders of a script, in order of appearance. */
export function placeholders(script: string): string[] {
  const seen: string[] = []
  for (const match of script.matchAll(PLACEHOLDER)) {
    if (!seen.includes(match[1])) seen.push(match[1])
  }
  return seen
}

/** A parameter declaration for each placeholder (string, required), kept when already declared. */
export function declareParameters(script: string, existing: TemplateParameter[]): TemplateParameter[] {
  return placeholders(script).map(
    (name) =>
      existing.find((p) => p.name === name) ?? {
        name,
        type: 'string',
        required: true,
        default: null,
        choices: [],
        description: '',
      },
  )
}

/** Splits an assistant answer into prose and fenced code blocks. */
export function splitFences(content: string): { kind: 'text' | 'code'; text: string }[] {
  const parts: { kind: 'text' | 'code'; text: string }[] = []
  const fence = /```[^\n]*\n([\s\S]*?)```/g
  let last = 0
  for (const match of content.matchAll(fence)) {
    const index = match.index ?? 0
    if (index > last) parts.push({ kind: 'text', text: content.slice(last, index) })
    parts.push({ kind: 'code', text: match[1].replace(/\n$/, '') })
    last = index + match[0].length
  }
  if (last < content.length) parts.push({ kind: 'text', text: content.slice(last) })
  return parts.filter((p) => p.text.trim() !== '')
}
