"""Sampling: the NUTS engine, the devices it runs on, the compile cache, Ray and progress.

Nothing is imported here, so that :mod:`.devices` can set up JAX's CPU devices before any
other module starts JAX.
"""
