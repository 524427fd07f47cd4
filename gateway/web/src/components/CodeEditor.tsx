// Monaco, bundled: this module is the lazy chunk that only editor mode loads.
// `loader.config({ monaco })` makes @monaco-editor/react use this bundled copy
// instead of fetching one from a CDN; the editor worker is a Vite worker
// import, served from /assets like everything else (the console works air-gapped).
import Editor, { loader } from '@monaco-editor/react'
import * as monaco from 'monaco-editor/editor/editor.api'
import EditorWorker from 'monaco-editor/editor/editor.worker?worker'
// The editing features an engineer expects (editor.api alone is the bare
// core). Ctrl+M (toggle tab focus) matters: it lets keyboard users Tab out.
import 'monaco-editor/editor/browser/coreCommands'
import 'monaco-editor/editor/contrib/bracketMatching/browser/bracketMatching'
import 'monaco-editor/editor/contrib/clipboard/browser/clipboard'
import 'monaco-editor/editor/contrib/comment/browser/comment'
import 'monaco-editor/editor/contrib/contextmenu/browser/contextmenu'
import 'monaco-editor/editor/contrib/cursorUndo/browser/cursorUndo'
import 'monaco-editor/editor/contrib/folding/browser/folding'
import 'monaco-editor/editor/contrib/indentation/browser/indentation'
import 'monaco-editor/editor/contrib/linesOperations/browser/linesOperations'
import 'monaco-editor/editor/contrib/multicursor/browser/multicursor'
import 'monaco-editor/editor/contrib/suggest/browser/suggestController'
import 'monaco-editor/editor/contrib/toggleTabFocusMode/browser/toggleTabFocusMode'
import 'monaco-editor/editor/contrib/wordHighlighter/browser/wordHighlighter'
import 'monaco-editor/editor/contrib/wordOperations/browser/wordOperations'
import 'monaco-editor/features/codicon/register'
import 'monaco-editor/features/find/register'
import 'monaco-editor/languages/definitions/powershell/register'
import 'monaco-editor/languages/definitions/python/register'
import 'monaco-editor/languages/definitions/shell/register'
import type { Language } from '../api/types'

declare global {
  interface Window {
    MonacoEnvironment?: { getWorker: (workerId: string, label: string) => Worker }
  }
}

window.MonacoEnvironment = { getWorker: () => new EditorWorker() }
loader.config({ monaco })

const MONACO_LANGUAGE: Record<Language, string> = {
  powershell: 'powershell',
  bash: 'shell',
  python: 'python',
}

/**
 * Uncontrolled on purpose: Monaco owns the text while the engineer types (a
 * controlled `value` can drop keystrokes when React lags behind the typing).
 * The parent remounts it (a new `key`) to replace the text.
 */
export default function CodeEditor({
  initialValue,
  language,
  onChange,
  label,
  height = 320,
}: {
  initialValue: string
  language: Language
  onChange: (value: string) => void
  label: string
  height?: number
}) {
  return (
    <div className="code-editor" data-testid="code-editor">
      <Editor
        height={height}
        defaultValue={initialValue}
        language={MONACO_LANGUAGE[language]}
        onChange={(next) => onChange(next ?? '')}
        loading={<p role="status">Loading the editor…</p>}
        options={{
          ariaLabel: label,
          minimap: { enabled: false },
          fontSize: 13,
          scrollBeyondLastLine: false,
          automaticLayout: true,
          wordWrap: 'on',
          tabSize: 4,
          renderLineHighlight: 'line',
        }}
      />
    </div>
  )
}
