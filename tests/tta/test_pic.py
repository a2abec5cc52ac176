import pytest
import torch

from pyg_ext.tta import PICLoss, pic_loss, pic_terms


def explicit_pic(z, P):
    """intra / (intra + inter) straight from the definitions (loops)."""
    N, C = P.shape
    mu_star = z.mean(0)
    intra = inter = 0.0
    for c in range(C):
        m = P[:, c].sum()
        mu_c = (P[:, c:c + 1] * z).sum(0) / m
        for i in range(N):
            intra += P[i, c] * (z[i] - mu_c).square().sum()
        inter += m * (mu_c - mu_star).square().sum()
    return intra / (intra + inter)


def test_hand_computed_four_nodes():
    # Clusters {0, 2} and {10, 12}: centroids 1 and 11, global 6.
    z = torch.tensor([[0.], [2.], [10.], [12.]])
    P = torch.tensor([[1., 0.], [1., 0.], [0., 1.], [0., 1.]])
    intra, inter = pic_terms(z, P)
    assert torch.isclose(intra, torch.tensor(4.0))  # 4 * 1^2
    assert torch.isclose(inter, torch.tensor(100.0))  # 2 * 5^2 * 2
    assert torch.isclose(pic_loss(z, P), torch.tensor(4 / 104))
    # Soft labels, by hand: node 1 half/half.
    P2 = torch.tensor([[1., 0.], [.5, .5], [0., 1.], [0., 1.]])
    # mu_0 = (0 + 1) / 1.5 = 2/3; mu_1 = (1 + 10 + 12) / 2.5 = 9.2
    intra = (4 / 9 + .5 * (2 - 2 / 3)**2 + .5 * (2 - 9.2)**2 +
             (10 - 9.2)**2 + (12 - 9.2)**2)
    inter = 1.5 * (2 / 3 - 6)**2 + 2.5 * (9.2 - 6)**2
    ref = torch.tensor(intra / (intra + inter))
    assert torch.isclose(pic_loss(z, P2), ref)


def test_matches_explicit_definition_and_total_variance_identity():
    torch.manual_seed(0)
    z = torch.randn(30, 5, dtype=torch.float64)
    P = torch.softmax(torch.randn(30, 3, dtype=torch.float64) * 2, dim=1)
    assert torch.allclose(pic_loss(z, P), explicit_pic(z, P), atol=1e-6)
    intra, inter = pic_terms(z, P)
    total = (z - z.mean(0)).square().sum()
    assert torch.allclose(intra + inter, total)
    # Large inputs take the cdist path: same value.
    z = torch.randn(3000, 64, dtype=torch.float64)
    P = torch.softmax(torch.randn(3000, 100, dtype=torch.float64), dim=1)
    a, b = pic_terms(z, P)
    assert torch.allclose(a + b, (z - z.mean(0)).square().sum())


def test_invariances_range_and_perfect_clusters():
    torch.manual_seed(1)
    z = torch.randn(40, 4)
    P = torch.softmax(torch.randn(40, 3), dim=1)
    base = pic_loss(z, P)
    assert 0 <= base <= 1
    assert torch.isclose(pic_loss(z * 7.3, P), base, atol=1e-6)
    assert torch.isclose(pic_loss(z + 3, P), base, atol=1e-6)
    assert torch.isclose(pic_loss(z @ torch.linalg.qr(torch.randn(4, 4))[0],
                                  P), base, atol=1e-5)  # rotation
    # One-hot labels on perfectly separated (collapsed) clusters: 0.
    y = torch.arange(40) % 3
    z = torch.eye(3)[y] * 5
    P = torch.nn.functional.one_hot(y, 3).float()
    assert pic_loss(z, P).abs() < 1e-6
    # Uniform labels: no between-class variance, loss 1.
    assert torch.isclose(pic_loss(torch.randn(40, 4), torch.full((40, 3),
                                                                 1 / 3)),
                         torch.tensor(1.0))


def test_gradient_finite_and_matches_finite_differences():
    torch.manual_seed(2)
    z = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    P = torch.softmax(torch.randn(12, 2, dtype=torch.float64), dim=1)
    assert torch.autograd.gradcheck(lambda t: pic_loss(t, P), (z, ))
    pic_loss(z, P).backward()
    assert torch.isfinite(z.grad).all()


def test_guards_empty_class_and_constant_representation():
    z = torch.randn(6, 2, requires_grad=True)
    P = torch.tensor([[1., 0., 0.]] * 3 + [[0., 1., 0.]] * 3)  # class 2 empty
    loss = pic_loss(z, P)
    assert torch.isfinite(loss)
    assert torch.isclose(loss, pic_loss(z, P[:, :2]))
    loss.backward()
    assert torch.isfinite(z.grad).all()
    const = torch.ones(6, 2, requires_grad=True)
    loss = pic_loss(const, P)
    assert loss == 0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(const.grad).all()


def test_mask_restricts_both_sums():
    torch.manual_seed(3)
    z = torch.randn(20, 3)
    P = torch.softmax(torch.randn(20, 2), dim=1)
    mask = torch.zeros(20, dtype=torch.bool)
    mask[::2] = True
    assert torch.isclose(pic_loss(z, P, mask), pic_loss(z[mask], P[mask]))
    idx = mask.nonzero().view(-1)
    assert torch.isclose(pic_loss(z, P, idx), pic_loss(z[mask], P[mask]))
    assert torch.isclose(PICLoss()(z, P, mask), pic_loss(z, P, mask))


@pytest.mark.parametrize('z, P, err, match', [
    (torch.randn(5, 3), torch.full((4, 2), .5), ValueError, 'same number'),
    (torch.randn(5), torch.full((5, 2), .5), ValueError, "'z' must be 2-D"),
    (torch.randn(5, 3), torch.full((5, ), .5), ValueError, "'prob' must be"),
    (torch.randn(5, 3), torch.full((5, 2), .4), ValueError, 'sum to 1'),
    (torch.randn(5, 3), torch.tensor([[1.5, -.5]] * 5), ValueError,
     'non-negative'),
    (torch.randn(5, 3), torch.ones(5, 2, dtype=torch.long), TypeError,
     'floating'),
    ([[1.0]], torch.ones(1, 1), TypeError, 'tensors'),
])
def test_bad_inputs(z, P, err, match):
    with pytest.raises(err, match=match):
        pic_loss(z, P)


def test_bad_mask():
    with pytest.raises(ValueError, match='mask'):
        pic_loss(torch.randn(5, 2), torch.full((5, 2), .5),
                 torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='no rows'):
        pic_loss(torch.randn(5, 2), torch.full((5, 2), .5),
                 torch.zeros(5, dtype=torch.bool))
    assert repr(PICLoss()) == 'PICLoss(eps=1e-08)'


def test_validate_switch_checks_values_once_metadata_always():
    z = torch.randn(5, 3)
    bad = torch.full((5, 2), .4)  # rows sum to 0.8
    with pytest.raises(ValueError, match='sum to 1'):
        pic_loss(z, bad)
    with pytest.raises(ValueError, match='sum to 1'):
        PICLoss()(z, bad)
    # validate=False trusts the values (a caller that checked them once) ...
    assert torch.isfinite(pic_loss(z, bad, validate=False))
    assert torch.isfinite(PICLoss(validate=False)(z, bad))
    # ... but shapes, dtypes and devices are still checked.
    with pytest.raises(ValueError, match='same number'):
        pic_loss(z, torch.full((4, 2), .5), validate=False)
    with pytest.raises(TypeError, match='floating'):
        pic_loss(z, torch.ones(5, 2, dtype=torch.long), validate=False)
    with pytest.raises(ValueError, match='one device'):
        pic_loss(z, torch.full((5, 2), .5, device='meta'), validate=False)
    with pytest.raises(ValueError, match="'mask' is on meta"):
        pic_loss(z, torch.full((5, 2), .5),
                 torch.ones(5, dtype=torch.bool, device='meta'),
                 validate=False)
    with pytest.raises(ValueError, match='mask'):
        pic_loss(z, torch.full((5, 2), .5), torch.ones(4, dtype=torch.bool),
                 validate=False)
    # Same values either way on valid input.
    P = torch.softmax(torch.randn(5, 2), dim=1)
    mask = torch.tensor([True, False, True, True, False])
    assert torch.equal(pic_loss(z, P, validate=False), pic_loss(z, P))
    assert torch.equal(pic_loss(z, P, mask, validate=False),
                       pic_loss(z, P, mask))


def test_on_device_matches_cpu(device):
    torch.manual_seed(4)
    z = torch.randn(50, 6, dtype=torch.float64, requires_grad=True)
    P = torch.softmax(torch.randn(50, 4, dtype=torch.float64), dim=1)
    P[:, 3] = 0  # an empty class
    P = P / P.sum(1, keepdim=True)
    mask = torch.rand(50) < 0.6
    zd = z.detach().to(device).requires_grad_()
    for m in (None, mask, mask.nonzero().view(-1)):
        md = None if m is None else m.to(device)
        a = pic_loss(z, P, m)
        b = pic_loss(zd, P.to(device), md, validate=False)
        assert b.device == device
        assert torch.allclose(b.detach().cpu(), a.detach())
        (ga, ) = torch.autograd.grad(a, z)
        (gb, ) = torch.autograd.grad(b, zd)
        assert torch.allclose(gb.cpu(), ga)
    const = torch.ones(50, 6, device=device, requires_grad=True)
    loss = pic_loss(const, P.float().to(device), validate=False)
    loss.backward()
    assert float(loss.detach()) == 0 and torch.isfinite(const.grad).all()


def test_no_value_read_with_validate_off():
    # On 'meta' any host read raises: the loss, its guards (empty classes,
    # constant Z) and its backward pass must not read a value.
    z = torch.empty(30, 5, device='meta', requires_grad=True)
    P = torch.empty(30, 3, device='meta')
    for mask in (None, torch.empty(30, dtype=torch.bool, device='meta'),
                 torch.empty(12, dtype=torch.long, device='meta')):
        loss = pic_loss(z, P, mask, validate=False)
        assert loss.shape == () and loss.device.type == 'meta'
        loss.backward()
        assert z.grad.shape == (30, 5)
    big = torch.empty(3000, 64, device='meta', requires_grad=True)  # cdist
    pic_loss(big, torch.empty(3000, 100, device='meta'),
             validate=False).backward()
    with pytest.raises(Exception):  # validation does read values
        pic_loss(z, P)
