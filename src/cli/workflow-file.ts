/**
 * Reading a workflow file named on the command line.
 */
import { readFile } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { loadWorkflow } from '../workflow/plan.js'

/**
 * The bytes of workflow `file`, checked: `InputError` when it cannot be read,
 * `WorkflowValidationError` (exit 2) when it is not a valid workflow, before
 * any key, store or node is touched.
 */
export async function readWorkflowFile (file: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(file))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new InputError(`cannot read workflow ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`)
  }
  loadWorkflow(bytes, file)
  return bytes
}
