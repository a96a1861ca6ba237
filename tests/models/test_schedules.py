"""Schedules and the EMA teacher follow their definitions step by step."""
from __future__ import annotations

import math

import pytest
import torch

from models.ema import EMATeacher
from models.schedules import Anneal, cosine_with_warmup


def test_cosine_with_warmup():
    assert cosine_with_warmup(0, 1.0, 10, 110) == pytest.approx(0.1)
    assert cosine_with_warmup(9, 1.0, 10, 110) == pytest.approx(1.0)
    assert cosine_with_warmup(60, 1.0, 10, 110) == pytest.approx(0.5)
    assert cosine_with_warmup(110, 1.0, 10, 110, final=0.1) == pytest.approx(0.1)
    assert cosine_with_warmup(500, 2.0, 0, 100, final=2.0) == pytest.approx(2.0)  # constant


def test_anneal_kinds():
    eat = Anneal(0.9998, 0.99999, 100_000)
    assert eat.at(0) == pytest.approx(0.9998)
    assert eat.at(50_000) == pytest.approx((0.9998 + 0.99999) / 2)
    assert eat.at(10 ** 6) == pytest.approx(0.99999)
    whole = Anneal(0.0, 1.0, 0, "linear", fraction=0.5)
    assert whole.at(25, total=100) == pytest.approx(0.5) and whole.at(80, total=100) == 1.0
    cos = Anneal(0.0, 1.0, 100, "cosine")
    assert cos.at(50) == pytest.approx(0.5) and cos.at(25) == pytest.approx(0.5 * (1 - math.cos(math.pi / 4)))
    assert Anneal(0.99, 0.5, 10, "constant").at(7) == 0.99


def test_ema_teacher_moves_as_scheduled():
    torch.manual_seed(0)
    student = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    teacher = EMATeacher(student, Anneal(0.5, 0.9, 4), total_steps=100)
    assert all(not p.requires_grad for p in teacher.parameters())
    start = [p.detach().clone() for p in teacher.module.parameters()]
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
        student[1].running_mean.fill_(3.0)
    for step, expected in ((0, 0.5), (2, 0.7), (4, 0.9), (9, 0.9)):
        before = [p.detach().clone() for p in teacher.module.parameters()]
        assert teacher.update(student, step) == pytest.approx(expected)
        for b, t, s in zip(before, teacher.module.parameters(), student.parameters()):
            torch.testing.assert_close(t, expected * b + (1 - expected) * s)
    assert torch.equal(teacher.module[1].running_mean, student[1].running_mean)  # buffers copied
    assert not torch.equal(start[0], next(teacher.module.parameters()))
