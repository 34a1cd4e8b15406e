// Runs alex (retext-equality + retext-profanities) on one text per line of stdin and prints one
// JSON array of findings per line, with character offsets, for bench/sensitivity.py.
import {text} from 'alex'
import readline from 'node:readline'
const rl = readline.createInterface({input: process.stdin})
for await (const line of rl) {
  const file = text(line)
  console.log(JSON.stringify(file.messages.map(m => {
    const point = m.place && m.place.start ? m.place.start : m.place || {column: m.column}
    const start = point.column - 1
    const end = m.place && m.place.end ? m.place.end.column - 1 : start + String(m.actual || ' ').length
    return {start, end, rule: m.ruleId}
  })))
}
