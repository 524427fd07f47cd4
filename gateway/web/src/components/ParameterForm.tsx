// A typed form for a template's parameters: text, whole numbers, a checkbox,
// or a choice; required ones marked, defaults filled in.
import { useId } from 'react'
import type { JsonValue, TemplateParameter } from '../api/types'

export type ParameterValues = Record<string, string | boolean>

export function initialValues(parameters: TemplateParameter[]): ParameterValues {
  const values: ParameterValues = {}
  for (const p of parameters) {
    if (p.type === 'boolean') values[p.name] = p.default === true
    else if (p.default !== null && p.default !== undefined) values[p.name] = String(p.default)
    else if (p.type === 'enum' && p.required && p.choices.length) values[p.name] = p.choices[0]
    else values[p.name] = ''
  }
  return values
}

/** The values as the render call takes them; blank optional values are left out. */
export function toRenderValues(
  parameters: TemplateParameter[],
  values: ParameterValues,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {}
  for (const p of parameters) {
    const value = values[p.name]
    if (p.type === 'boolean') {
      out[p.name] = value === true
      continue
    }
    const text = typeof value === 'string' ? value.trim() : ''
    if (text === '') continue // "not given": the server applies the default or refuses a required one
    if (p.type === 'integer' && /^-?\d+$/.test(text)) out[p.name] = Number(text)
    else out[p.name] = text
  }
  return out
}

export function ParameterForm({
  parameters,
  values,
  onChange,
  disabled = false,
}: {
  parameters: TemplateParameter[]
  values: ParameterValues
  onChange: (values: ParameterValues) => void
  disabled?: boolean
}) {
  const baseId = useId()
  if (parameters.length === 0) {
    return <p className="hint">This template has no parameters.</p>
  }
  const set = (name: string, value: string | boolean) => onChange({ ...values, [name]: value })
  return (
    <div className="parameter-form">
      {parameters.map((p) => {
        const id = `${baseId}-${p.name}`
        const hintId = p.description ? `${id}-hint` : undefined
        const label = (
          <>
            <code>{p.name}</code>
            {p.required ? <span className="required"> (required)</span> : null}
          </>
        )
        const value = values[p.name]
        return (
          <div className="field" key={p.name}>
            {p.type === 'boolean' ? (
              <label className="checkbox" htmlFor={id}>
                <input
                  id={id}
                  type="checkbox"
                  checked={value === true}
                  onChange={(e) => set(p.name, e.target.checked)}
                  aria-describedby={hintId}
                  disabled={disabled}
                />
                {label}
              </label>
            ) : (
              <>
                <label htmlFor={id}>{label}</label>
                {p.type === 'enum' ? (
                  <select
                    id={id}
                    value={typeof value === 'string' ? value : ''}
                    onChange={(e) => set(p.name, e.target.value)}
                    required={p.required}
                    aria-describedby={hintId}
                    disabled={disabled}
                  >
                    {p.required ? null : <option value="">(not given)</option>}
                    {p.choices.map((choice) => (
                      <option key={choice} value={choice}>
                        {choice}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={id}
                    type={p.type === 'integer' ? 'number' : 'text'}
                    step={p.type === 'integer' ? 1 : undefined}
                    inputMode={p.type === 'integer' ? 'numeric' : undefined}
                    value={typeof value === 'string' ? value : ''}
                    onChange={(e) => set(p.name, e.target.value)}
                    required={p.required}
                    aria-describedby={hintId}
                    disabled={disabled}
                    autoComplete="off"
                    spellCheck={false}
                  />
                )}
              </>
            )}
            {p.description ? (
              <p className="hint" id={hintId}>
                {p.description}
                {p.type === 'integer' ? ' (a whole number)' : ''}
              </p>
            ) : null}
          </div>
        )
      })}
    </div>
  )
}
