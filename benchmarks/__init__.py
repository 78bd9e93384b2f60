"""Speed benchmarks of the package: cold and warm fits, batches, compilation, padding, devices.

Run from the repository root: ``python -m benchmarks`` lists the scripts,
``python -m benchmarks NAME [args]`` runs one. Statistical checks live in ``validation/``.
"""
