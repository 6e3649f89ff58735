"""Rekognition's optional FaceDetail attributes (AgeRange, Gender, Smile, EyesOpen, MouthOpen, Emotions,
EyeDirection, the 30 landmark types) from the models that the models layer converts; `analyzer` is the
entry point. Nothing here runs, or even loads a model, unless an attribute is asked for."""
