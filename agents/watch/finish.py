"""What people see of a finished run (docs/design.md: rooms; chapters 66-75).

`finish_run` is the callable the run engine is given: after the final evaluation it draws the
task's report (agents.watch.views), the learning curve and, when the config asks for it, the
recording, and returns the report's lines.
"""

from __future__ import annotations

from lab.i18n import tr

from agents.contract import FinishedRun
from agents.watch import reports
from agents.watch.recording import record_learner
from agents.watch.views import run_title, view_for


def finish_run(done: FinishedRun) -> list[str]:
    """The task's report, the learning curve and the recording of `done`: their lines."""
    c, view = done.config, view_for(done.config.env.name)
    report = view.report(done.run, done.learner, c, done.evaluation, done.logger, done.step)
    curve = reports.learning_curve(done.run, run_title(c), view.task.references,
                                   logger=done.logger, step=done.step, final_episodes=c.final_episodes)
    if curve is not None:
        report.append(tr("learning curve: {path}").format(path=curve))
    if c.record_episodes > 0:
        paths = record_learner(done.run, done.learner, c, episodes=c.record_episodes, logger=done.logger,
                               step=done.step)
        report.append(tr("recording: {paths}").format(paths=", ".join(str(p) for p in paths)))
    return report
