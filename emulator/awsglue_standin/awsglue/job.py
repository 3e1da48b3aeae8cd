"""Job: `init` at the start of a script, `commit` at its end. In Glue they drive job bookmarks;
the stand-in keeps no bookmark, so a rerun processes everything again.

https://docs.aws.amazon.com/glue/latest/dg/programming-etl-connect-bookmarks.html
"""


class Job:
    def __init__(self, glue_context):
        self._context = glue_context
        self.name = None
        self.args = {}
        self.committed = False

    def init(self, job_name, args=None):
        self.name = job_name
        self.args = dict(args or {})
        return self

    def commit(self):
        self.committed = True
