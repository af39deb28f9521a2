"""The Pulumi program's entry point (``main`` in ``Pulumi.yaml``).

It sits beside ``Pulumi.yaml`` because Pulumi runs the program, and starts the dynamic
provider's host, in the directory of ``main``: from here, the provider's host finds the
project's ``.venv``. Pulumi's Python host runs this file as ``__main__``; imported, it
does nothing. The program itself is ``reconciler.pulumi.program.run``.
"""

if __name__ == "__main__":
    from reconciler.pulumi.program import run

    run()
