#!/usr/bin/python
# -*- coding: utf-8 -*-
# Runs the installed k3s-harden binary and maps its JSON report to an
# Ansible result. The tool does the work (transaction, backups, restart,
# health gate, restore); this module only chooses the command and reads the
# outcome, so a play and a shell on the host behave the same.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: k3s_harden
short_description: Harden a K3s host with k3s-harden, roll it back, or check compliance
version_added: "0.1.0"
description:
  - Runs the C(k3s-harden) binary installed on the managed host (as an argument
    vector, never through a shell) with C(--output json) and maps its report to
    the result. C(changed) comes from the tool's own C(changed), failures from
    its exit code.
  - C(state=applied) runs C(k3s-harden apply) as one transaction (backups,
    atomic writes, live kernel parameters, a K3s restart judged by the health
    gate, automatic restore on failure).
  - C(state=rolled_back) runs C(k3s-harden rollback), C(state=checked) runs
    C(k3s-harden check) and returns the compliance report.
  - In check mode nothing on the host changes; C(state=applied) then runs
    C(k3s-harden diff) and reports whether apply would change anything.
  - In diff mode (C(--diff)) the unified diff that C(k3s-harden diff) prints
    (files created, updated and removed, mode changes) is returned as
    C(diff.prepared), so C(ansible-playbook --check --diff) shows what would
    change on every host.
  - Exit code 2 (bad input, nothing changed), 3 (failed, host restored) and
    4 (failed, not restored) end in a failed task with the tool's message.
author:
  - k3s-harden maintainers
requirements:
  - k3s-harden on the managed host (the Debian package installs it as /usr/sbin/k3s-harden)
options:
  state:
    description:
      - C(applied) makes the host match the profile.
      - C(rolled_back) puts back the files of a backup generation (I(generation);
        default the one before the last apply).
      - C(checked) reports compliance per CIS control and changes nothing.
    type: str
    choices: [applied, rolled_back, checked]
    default: applied
  profile:
    description:
      - Built-in profile name (see C(k3s-harden profile list)) or the absolute path
        of a profile file on the managed host. Passed as C(--profile).
      - Default is the tool's own default (C(cis)).
    type: str
  profile_content:
    description:
      - The text of a profile (YAML), written to a private temporary file on the
        managed host for this run only and passed as C(--profile) instead of
        I(profile). The C(harden) role uses it in check mode, when the profile
        file it would write does not exist yet.
    type: str
  root:
    description:
      - Operate on the tree under this directory instead of C(/) (C(--root)).
        A root other than C(/) is offline (files only) unless I(live) is true.
    type: path
    default: /
  live:
    description:
      - With a I(root) other than C(/), also set kernel values under
        I(root)/proc/sys and reload and restart K3s over the system bus
        (C(--live)). Has no effect with C(root=/), which is always live.
    type: bool
    default: false
  role:
    description:
      - Override the detected node role (C(--role)).
    type: str
    choices: [server, agent]
  k3s_version:
    description:
      - The K3s version to harden for (C(--k3s-version)), for offline roots and
        image builds where the tool cannot ask the installed K3s.
    type: str
  generation:
    description:
      - For C(state=rolled_back), the backup generation to restore (an ID from
        C(k3s-harden history), such as C(000003)).
    type: str
  restart:
    description:
      - Restart K3s when a file it reads at start changed. C(false) passes
        C(--no-restart); the restart is then recorded as pending on the host.
    type: bool
    default: true
  force:
    description:
      - For C(state=rolled_back), roll back even when that turns
        C(secrets-encryption) off (C(--force)).
    type: bool
    default: false
  benchmark:
    description:
      - For C(state=checked), the benchmark to check against (C(--benchmark)).
    type: str
  fail_on_noncompliance:
    description:
      - For C(state=checked), fail the task when a control FAILs. With C(false)
        the report is returned and the task succeeds.
    type: bool
    default: true
  binary:
    description:
      - The k3s-harden binary, a name looked up on C(PATH) (and C(/usr/sbin),
        C(/usr/local/sbin)) or an absolute path.
    type: str
    default: k3s-harden
notes:
  - Supports check mode and diff mode.
  - Run with privilege escalation on real hosts; the tool writes under C(/etc)
    and C(/var/lib) and talks to systemd.
  - For C(state=rolled_back) the tool has no dry run; in check mode the module
    looks the generation up in C(k3s-harden history) and reports C(changed)
    when it exists.
seealso:
  - name: k3s-harden(8)
    description: The manual page of the tool, with its JSON and exit codes.
    link: https://docs.k3s.io/security/hardening-guide
'''

EXAMPLES = r'''
- name: Harden a K3s server with the built-in CIS profile
  k3s_harden.hardening.k3s_harden:
    profile: cis

- name: Harden an agent for a given K3s version, without restarting it now
  k3s_harden.hardening.k3s_harden:
    profile: cis-agent
    role: agent
    k3s_version: v1.29.4+k3s1
    restart: false

- name: Harden an image mounted at /mnt/image (offline)
  k3s_harden.hardening.k3s_harden:
    root: /mnt/image
    profile: /etc/k3s-harden/site.yaml

- name: Roll back to a generation
  k3s_harden.hardening.k3s_harden:
    state: rolled_back
    generation: "000003"

- name: Report compliance without failing the play
  k3s_harden.hardening.k3s_harden:
    state: checked
    fail_on_noncompliance: false
  register: cis

- name: Show the failing controls
  ansible.builtin.debug:
    msg: "{{ cis.check.controls | selectattr('status', 'equalto', 'FAIL') | map(attribute='id') | list }}"
'''

RETURN = r'''
changed:
  description: Whether the tool changed (or, in check mode, would change) anything.
  returned: always
  type: bool
generation:
  description:
    - The generation this run recorded (C(null) when nothing changed). Its
      backups hold the files as they were before the run.
  returned: when state is applied or rolled_back and not in check mode
  type: str
  sample: "000004"
backup_generation:
  description:
    - The generation whose backups hold the files as they were before this run;
      pass it as I(generation) with C(state=rolled_back) to undo the run.
      C(null) when nothing changed.
  returned: when state is applied or rolled_back and not in check mode
  type: str
  sample: "000004"
restarted:
  description: Whether K3s was restarted (and passed the health gate).
  returned: when state is applied or rolled_back
  type: bool
restart_pending:
  description: Whether a restart is still owed (I(restart=false), or an offline root).
  returned: when state is applied or rolled_back and not in check mode
  type: bool
result:
  description: The tool's C(result) field (C(ok) on success).
  returned: when state is applied or rolled_back and not in check mode
  type: str
  sample: ok
files:
  description:
    - One entry per file or directory as the tool reports it - path, kind,
      action (C(create), C(update), C(remove), C(unchanged)), old and new
      sha256, mode, old mode, and whether it needs a restart.
  returned: when state is applied or rolled_back
  type: list
  elements: dict
  sample:
    - path: /etc/sysctl.d/90-kubelet.conf
      kind: file
      action: create
      old_sha256: null
      new_sha256: 3e534c8a1b1c43be030cc7a8c93690def207263eaa10c6bde8deaece77a5e8a0
      mode: "0644"
      old_mode: null
      needs_restart: false
check:
  description:
    - The compliance report of C(k3s-harden check --output json) - benchmark,
      role, k3s_version, controls (each with its ID and status) and totals per
      status (PASS, FAIL, WARN, INFO).
  returned: when state is checked
  type: dict
diff:
  description: In diff mode, the unified diff of what apply changes (or would change).
  returned: in diff mode, when something changes
  type: dict
  contains:
    prepared:
      description: The diff as C(k3s-harden diff) prints it.
      type: str
rc:
  description:
    - The tool's exit code (2 bad input, 3 failed and restored, 4 failed and
      not restored, 1 for C(state=checked) when a control FAILs).
  returned: on failure
  type: int
msg:
  description: What failed, in the tool's words (its standard error).
  returned: on failure
  type: str
stderr:
  description: The tool's standard error.
  returned: always
  type: str
cmd:
  description: The argument vector that was run.
  returned: always
  type: list
  elements: str
'''

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

EXIT_MEANING = {
    1: 'failed',
    2: 'rejected the input, nothing was changed',
    3: 'failed and the host was restored to its previous state',
    4: 'failed and could not restore the host; the message says what is left to do',
    5: 'committed the change but could not write its report',
}


def find_binary(module):
    name = module.params['binary']
    if os.path.isabs(name):
        if not os.access(name, os.X_OK):
            module.fail_json(msg="k3s-harden binary '%s' is not executable" % name, rc=None)
        return name
    path = module.get_bin_path(name, required=False, opt_dirs=['/usr/sbin', '/usr/local/sbin', '/sbin'])
    if path is None:
        module.fail_json(msg="cannot find '%s' on the managed host: install the k3s-harden package "
                             "or set the binary option" % name, rc=None)
    return path


def global_args(module, profile):
    p = module.params
    args = ['--output', 'json', '--color', 'never', '--root', p['root']]
    if profile:
        args += ['--profile', profile]
    if p['role']:
        args += ['--role', p['role']]
    if p['k3s_version']:
        args += ['--k3s-version', p['k3s_version']]
    return args


class Runner(object):
    def __init__(self, module, binary, profile):
        self.module = module
        self.binary = binary
        self.globals = global_args(module, profile)
        self.last_cmd = None

    def run(self, command, extra=(), output_json=True):
        glob = list(self.globals)
        if not output_json:
            glob[glob.index('--output') + 1] = 'text'
        argv = [self.binary] + list(command) + list(extra) + glob
        self.last_cmd = argv
        rc, out, err = self.module.run_command(argv, check_rc=False, environ_update={'LC_ALL': 'C'})
        return rc, out, err

    def fail(self, what, rc, out, err, **extra):
        msg = err.strip() or out.strip() or 'no message'
        meaning = EXIT_MEANING.get(rc, 'failed with exit code %d' % rc)
        result = dict(msg='k3s-harden %s %s (exit %d): %s' % (what, meaning, rc, msg),
                      rc=rc, stderr=err, cmd=self.last_cmd, changed=extra.pop('changed', False))
        doc = parse_json(out)
        if doc is not None:
            for key in ('files', 'generation', 'restarted', 'result'):
                if key in doc:
                    result[key] = doc[key]
        result.update(extra)
        self.module.fail_json(**result)


def parse_json(text):
    text = text.strip()
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def need_json(runner, what, rc, out, err):
    doc = parse_json(out)
    if doc is None:
        runner.module.fail_json(msg='k3s-harden %s printed no JSON report (exit %d): %s'
                                % (what, rc, (err.strip() or out.strip())[:2000]),
                                rc=rc, stderr=err, cmd=runner.last_cmd)
    return doc


def text_diff(runner, live):
    rc, out, err = runner.run(['diff'], ['--live'] if live else [], output_json=False)
    if rc not in (0, 1):
        runner.fail('diff', rc, out, err)
    return out


def do_applied(module, runner, live_args):
    p = module.params
    res = dict(changed=False)
    if module.check_mode:
        rc, out, err = runner.run(['diff'], live_args)
        if rc not in (0, 1):
            runner.fail('diff', rc, out, err)
        doc = need_json(runner, 'diff', rc, out, err)
        res.update(changed=bool(doc.get('changed', rc == 1)), files=doc.get('files', []),
                   restarted=False, stderr=err, cmd=runner.last_cmd)
        if module._diff and res['changed']:
            res['diff'] = dict(prepared=text_diff(runner, bool(live_args)))
        return res
    prepared = None
    if module._diff:
        prepared = text_diff(runner, bool(live_args))
    extra = list(live_args)
    if not p['restart']:
        extra.append('--no-restart')
    rc, out, err = runner.run(['apply'], extra)
    if rc != 0:
        runner.fail('apply', rc, out, err, changed=(rc == 5))
    doc = need_json(runner, 'apply', rc, out, err)
    return report_result(doc, err, runner, prepared)


def report_result(doc, err, runner, prepared):
    res = dict(changed=bool(doc.get('changed')), generation=doc.get('generation'),
               backup_generation=doc.get('generation'), restarted=bool(doc.get('restarted')),
               restart_pending=bool(doc.get('restart_pending')), result=doc.get('result'),
               files=doc.get('files', []), stderr=err, cmd=runner.last_cmd)
    if prepared is not None and res['changed']:
        res['diff'] = dict(prepared=prepared)
    return res


def do_rolled_back(module, runner, live_args):
    p = module.params
    gen = p['generation']
    if module.check_mode:
        rc, out, err = runner.run(['history'])
        if rc != 0:
            runner.fail('history', rc, out, err)
        doc = need_json(runner, 'history', rc, out, err)
        gens = [g.get('id') for g in doc.get('generations', [])]
        if gen is not None and gen not in gens:
            module.fail_json(msg="no generation '%s' on this host (k3s-harden history lists: %s)"
                             % (gen, ', '.join(gens) or 'none'), rc=2, cmd=runner.last_cmd)
        return dict(changed=bool(gens), msg='rollback has no dry run: generation %s exists'
                    % (gen or 'before the last apply'), stderr=err, cmd=runner.last_cmd)
    extra = ([gen] if gen else []) + list(live_args)
    if p['force']:
        extra.append('--force')
    if not p['restart']:
        extra.append('--no-restart')
    rc, out, err = runner.run(['rollback'], extra)
    if rc != 0:
        runner.fail('rollback', rc, out, err, changed=(rc == 5))
    doc = need_json(runner, 'rollback', rc, out, err)
    return report_result(doc, err, runner, None)


def do_checked(module, runner):
    p = module.params
    extra = ['--benchmark', p['benchmark']] if p['benchmark'] else []
    rc, out, err = runner.run(['check'], extra)
    if rc not in (0, 1):
        runner.fail('check', rc, out, err)
    doc = need_json(runner, 'check', rc, out, err)
    totals = doc.get('totals') or {}
    failed = [c.get('id') for c in doc.get('controls', []) if c.get('status') == 'FAIL']
    nfail = totals.get('FAIL', len(failed))
    res = dict(changed=False, check=doc, stderr=err, cmd=runner.last_cmd)
    if (rc == 1 or nfail) and p['fail_on_noncompliance']:
        res['msg'] = '%d CIS controls FAIL on this host: %s' % (nfail, ', '.join(str(f) for f in failed))
        module.fail_json(rc=rc, **res)
    return res


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='applied', choices=['applied', 'rolled_back', 'checked']),
            profile=dict(type='str'),
            profile_content=dict(type='str'),
            root=dict(type='path', default='/'),
            live=dict(type='bool', default=False),
            role=dict(type='str', choices=['server', 'agent']),
            k3s_version=dict(type='str'),
            generation=dict(type='str'),
            restart=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            benchmark=dict(type='str'),
            fail_on_noncompliance=dict(type='bool', default=True),
            binary=dict(type='str', default='k3s-harden'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    binary = find_binary(module)
    profile = p['profile']
    tmpdir = None
    try:
        if p['profile_content'] is not None:
            tmpdir = tempfile.mkdtemp(prefix='k3s-harden-ansible-')
            profile = os.path.join(tmpdir, 'profile.yaml')
            fd = os.open(profile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(p['profile_content'])
        runner = Runner(module, binary, profile)
        live_args = ['--live'] if p['live'] and os.path.normpath(p['root']) != '/' else []
        if p['state'] == 'applied':
            res = do_applied(module, runner, live_args)
        elif p['state'] == 'rolled_back':
            res = do_rolled_back(module, runner, live_args)
        else:
            res = do_checked(module, runner)
    finally:
        if tmpdir is not None:
            for name in os.listdir(tmpdir):
                os.unlink(os.path.join(tmpdir, name))
            os.rmdir(tmpdir)
    module.exit_json(**res)


if __name__ == '__main__':
    main()
