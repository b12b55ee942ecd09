"""Detectron2 training project for bpgen datasets: arrives with the train stage (issue 5); nothing here yet."""
