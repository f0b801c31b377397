import matplotlib

matplotlib.use("Agg")  # unit tests draw figures off screen; notebooks keep their inline backend
