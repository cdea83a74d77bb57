// Renders the controller's OpenAPI document as a list of routes. Builds
// the page with DOM calls and textContent only, so no text from the
// document is parsed as HTML.
'use strict'

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head']

/** Creates an element with optional class and text. */
function element(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

/** Returns short type text for a JSON schema, such as `string[]` or `integer 1..100`. */
function typeOf(schema) {
  if (!schema) return ''
  if (schema.type === 'array') return `${typeOf(schema.items)}[]`
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ')
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ')
  let text = schema.type ?? 'any'
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    text += ` ${schema.minimum ?? ''}..${schema.maximum ?? ''}`
  }
  if (schema.pattern) text += ` /${schema.pattern}/`
  return text
}

function parametersTable(parameters) {
  const table = element('table')
  const head = table.createTHead().insertRow()
  for (const title of ['name', 'in', 'required', 'type', 'description']) head.append(element('th', '', title))
  const body = table.createTBody()
  for (const parameter of parameters) {
    const row = body.insertRow()
    row.append(element('td', 'path', parameter.name))
    row.append(element('td', '', parameter.in))
    row.append(element('td', '', parameter.required ? 'yes' : 'no'))
    row.append(element('td', '', typeOf(parameter.schema)))
    row.append(element('td', '', parameter.description ?? parameter.schema?.description ?? ''))
  }
  return table
}

/** Builds a collapsed block that shows a schema as indented JSON. */
function schemaBlock(title, schema) {
  const block = element('details')
  block.append(element('summary', '', title))
  block.append(element('pre', '', JSON.stringify(schema, null, 2)))
  return block
}

function accessText(operation) {
  const security = operation.security ?? []
  if (security.length === 0) return 'No token needed.'
  const scheme = Object.keys(security[0])[0]
  if (scheme === 'agentToken') return 'Needs an agent token.'
  if (scheme === 'metricsToken') return 'Needs the metrics token.'
  const roles = operation['x-roles'] ?? []
  const self = operation['x-self-allowed'] ? ', or the user named in the path' : ''
  return `Needs an API token of role ${roles.join(', ')}${self}.`
}

function renderOperation(method, path, operation) {
  const box = element('details', 'operation')
  const methodClass = ['get', 'post', 'delete'].includes(method) ? method : 'other'
  const summary = element('summary')
  summary.append(element('span', `method method-${methodClass}`, method.toUpperCase()))
  summary.append(element('span', 'path', path))
  if (operation.summary) summary.append(element('span', 'summary', operation.summary))
  box.append(summary)

  if (operation.description) box.append(element('p', '', operation.description))
  box.append(element('p', 'muted', accessText(operation)))
  if (operation.parameters?.length) box.append(parametersTable(operation.parameters))
  for (const [type, content] of Object.entries(operation.requestBody?.content ?? {})) {
    box.append(schemaBlock(`Request body (${type})`, content.schema))
  }
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    const content = Object.entries(response.content ?? {})
    if (content.length === 0) box.append(element('p', 'muted', `${status}: ${response.description ?? ''}`))
    for (const [type, media] of content) box.append(schemaBlock(`${status} response (${type})`, media.schema))
  }
  box.dataset.search = `${method} ${path} ${operation.summary ?? ''} ${(operation.tags ?? []).join(' ')}`.toLowerCase()
  return box
}

/** Groups operations by their first tag, or by the path's second segment. */
function groupOperations(spec) {
  const groups = new Map()
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method]
      if (!operation) continue
      const group = operation.tags?.[0] ?? path.split('/')[2] ?? 'other'
      if (!groups.has(group)) groups.set(group, [])
      groups.get(group).push(renderOperation(method, path, operation))
    }
  }
  return groups
}

function render(spec) {
  const main = document.getElementById('routes')
  main.replaceChildren()
  document.getElementById('title').textContent = `${spec.info.title} ${spec.info.version}`
  document.title = spec.info.title
  const groups = [...groupOperations(spec)].sort(([a], [b]) => a.localeCompare(b))
  for (const [name, operations] of groups) {
    const section = element('section')
    section.append(element('h2', '', name))
    section.append(...operations)
    main.append(section)
  }
}

function applyFilter(text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean)
  for (const operation of document.querySelectorAll('details.operation')) {
    const matches = words.every((word) => operation.dataset.search.includes(word))
    operation.classList.toggle('hidden', !matches)
  }
}

async function start() {
  const status = document.getElementById('status')
  try {
    const response = await fetch('/api/openapi.json')
    if (!response.ok) throw new Error(`GET /api/openapi.json returned ${response.status}`)
    render(await response.json())
  } catch (error) {
    status.textContent = `Loading the API document failed: ${error.message}`
  }
  const filter = document.getElementById('filter')
  filter.addEventListener('input', () => applyFilter(filter.value))
}

start()
