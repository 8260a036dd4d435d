# Makes `python3 -m unittest discover -s test/python -t .` importable as test.python
# (without it, "test" resolves to the standard library test package).
